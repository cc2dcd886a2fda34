"""A small client for the registry's v2 HTTP API, with our auth and CA.

One requests.Session per client: its connection pool is sized for the worker threads that
share it, so concurrent calls reuse TLS connections instead of paying a handshake each.
Basic credentials go with every request; when the registry answers with a Bearer challenge
(token auth), the client gets tokens from the realm instead (labdock.token_auth).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin

import requests
from requests.adapters import HTTPAdapter

from labdock.config import Settings
from labdock.errors import (
    RegistryAuthError,
    RegistryError,
    RegistryNotFound,
    RegistryReadOnly,
    describe_request_error,
)
from labdock.token_auth import BearerAuth, Challenge, TokenCache, scope_for

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPES = (DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_MANIFEST, OCI_INDEX)

# The registry caps a page at 1000 entries; asking for that many keeps the page count low.
PAGE_SIZE = 1000
DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class Manifest:
    digest: str
    media_type: str
    size: int
    body: dict[str, Any]

    @property
    def is_index(self) -> bool:
        return "manifests" in self.body

    @property
    def children(self) -> tuple[str, ...]:
        """Digests of an index's platform manifests (none for an image manifest)."""
        return tuple(entry["digest"] for entry in self.body.get("manifests") or [])

    @property
    def blobs(self) -> tuple[tuple[str, int], ...]:
        """(digest, size) of an image manifest's config and layers."""
        config = self.body.get("config")
        descriptors = ([config] if config else []) + list(self.body.get("layers") or [])
        return tuple((d["digest"], int(d.get("size", 0))) for d in descriptors)


class RegistryClient:
    def __init__(
        self, settings: Settings, *, pool_size: int = 16, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.settings = settings
        self.timeout = timeout
        self.session = requests.Session()
        self.session.auth = settings.credentials
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.tokens = TokenCache(self.session, settings.credentials, settings.verify, timeout)

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    # -- reading -----------------------------------------------------------------------------

    def ping(self) -> requests.Response:
        """GET /v2/ with our credentials: 200 means the registry accepts them."""
        return self.request("GET", "/v2/")

    def prefetch_pull_tokens(self, repositories: list[str]) -> None:
        """With token auth, get the pull rights of many repositories in a few token requests
        (before a walk that reads them all); nothing to do with Basic auth."""
        if self.tokens.active:
            self.tokens.prefetch([f"repository:{repo}:pull" for repo in repositories])

    def catalog(self) -> list[str]:
        """Every repository, following the Link header past the per-page cap."""
        return [
            repo
            for page in self._pages(f"/v2/_catalog?n={PAGE_SIZE}")
            for repo in page.get("repositories") or []
        ]

    def tags(self, repository: str) -> list[str]:
        """The repository's tags; empty when every tag was deleted."""
        return [
            tag
            for page in self._pages(f"/v2/{_repo_path(repository)}/tags/list?n={PAGE_SIZE}")
            for tag in page.get("tags") or []
        ]

    def manifest_digest(self, repository: str, reference: str) -> str:
        """The digest the registry serves for a tag (any of the four manifest types)."""
        return self._manifest_response("HEAD", repository, reference)[1]

    # -- writing -----------------------------------------------------------------------------

    def delete_manifest(self, repository: str, digest: str) -> None:
        """Delete a manifest by digest (the registry needs storage.delete.enabled)."""
        self.request("DELETE", f"/v2/{_repo_path(repository)}/manifests/{digest}")

    def upload_blob(self, repository: str, data: bytes, digest: str) -> None:
        """Monolithic upload: open an upload session, then PUT the whole blob."""
        started = self.request("POST", f"/v2/{_repo_path(repository)}/blobs/uploads/")
        location = urljoin(self.settings.url + "/", started.headers["Location"])
        separator = "&" if "?" in location else "?"
        self.request(
            "PUT",
            f"{location}{separator}digest={digest}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )

    def mount_blob(self, repository: str, digest: str, source: str) -> bool:
        """Cross-repository mount; True when mounted (201), False when the registry
        opened an ordinary upload instead (202) and the blob must be uploaded."""
        response = self.request(
            "POST",
            f"/v2/{_repo_path(repository)}/blobs/uploads/?mount={digest}&from={source}",
        )
        return response.status_code == 201

    def put_manifest(self, repository: str, reference: str, manifest: dict[str, Any]) -> str:
        """Upload a manifest under a tag or digest; returns the registry's digest for it."""
        response = self.request(
            "PUT",
            f"/v2/{_repo_path(repository)}/manifests/{quote(reference, safe=':')}",
            data=encode_manifest(manifest),
            headers={"Content-Type": manifest["mediaType"]},
        )
        return response.headers["Docker-Content-Digest"]

    # -- maintenance: manifest bodies and blobs (labdock usage, tag delete, prune) ------------

    def manifest(self, repository: str, reference: str) -> Manifest:
        """The manifest the registry serves for a tag or digest, with its digest and bytes."""
        response, digest = self._manifest_response("GET", repository, reference)
        try:
            body = json.loads(response.content)
        except ValueError as exc:
            raise RegistryError(
                f"registry at {self.settings.url} sent an invalid manifest for "
                f"{repository}:{reference}"
            ) from exc
        media_type = body.get("mediaType") or response.headers.get("Content-Type", "")
        return Manifest(digest, media_type, len(response.content), body)

    def blob(self, repository: str, digest: str) -> bytes:
        """A blob's content (small ones only: image configs)."""
        return self.request("GET", f"/v2/{_repo_path(repository)}/blobs/{digest}").content

    def blob_exists(self, repository: str, digest: str) -> bool:
        """HEAD the blob: True on 200, False on 404."""
        try:
            self.request("HEAD", f"/v2/{_repo_path(repository)}/blobs/{digest}")
        except RegistryNotFound:
            return False
        return True

    # -- plumbing ----------------------------------------------------------------------------

    def request(self, method: str, path_or_url: str, **kwargs: Any) -> requests.Response:
        """Send one request; any failure becomes a RegistryError with a readable message."""
        url = urljoin(self.settings.url + "/", path_or_url)
        scope = scope_for(method, url)
        token = self.tokens.token(scope) if self.tokens.active else None
        response = self._send(method, url, token, kwargs)
        if response.status_code == 401:
            challenge = Challenge.parse(response.headers.get("WWW-Authenticate", ""))
            if challenge.scheme != "bearer":
                raise RegistryAuthError(self._unauthorized_message())
            if not self.tokens.active:
                self.tokens.learn(challenge)
            # The registry's own list of what it needs wins over our guess from the path.
            scope = challenge.params.get("scope", scope)
            token = self.tokens.token(scope, fresh=token is not None)
            response = self._send(method, url, token, kwargs)
            if response.status_code == 401:
                raise RegistryAuthError(self.tokens.refusal(scope, token))
        if response.status_code == 404:
            raise RegistryNotFound(f"registry at {self.settings.url}: {method} {url} -> 404")
        if response.status_code == 405 and method not in ("GET", "HEAD"):
            raise RegistryReadOnly(self._read_only_message(method))
        if response.status_code >= 400:
            raise RegistryError(
                f"registry at {self.settings.url} answered {response.status_code} to "
                f"{method} {url}: {_error_summary(response)}"
            )
        return response

    def _send(
        self, method: str, url: str, token: str | None, kwargs: dict[str, Any]
    ) -> requests.Response:
        try:
            # `verify` per request, not on the session: requests lets REQUESTS_CA_BUNDLE in
            # the environment override a session's verify, but not a request's.
            return self.session.request(
                method,
                url,
                timeout=self.timeout,
                verify=self.settings.verify,
                auth=BearerAuth(token) if token is not None else None,
                **kwargs,
            )
        except requests.RequestException as exc:
            raise RegistryError(describe_request_error(exc)) from exc

    def _manifest_response(
        self, method: str, repository: str, reference: str
    ) -> tuple[requests.Response, str]:
        response = self.request(
            method,
            f"/v2/{_repo_path(repository)}/manifests/{quote(reference, safe=':')}",
            headers={"Accept": ", ".join(MANIFEST_TYPES)},
        )
        digest = response.headers.get("Docker-Content-Digest")
        if not digest:
            raise RegistryError(
                f"registry at {self.settings.url} sent no Docker-Content-Digest for "
                f"{repository}:{reference}"
            )
        return response, digest

    def _pages(self, first: str) -> Iterator[dict[str, Any]]:
        url: str | None = first
        while url is not None:
            response = self.request("GET", url)
            try:
                yield response.json()
            except ValueError as exc:
                raise RegistryError(f"registry at {self.settings.url} sent invalid JSON") from exc
            following = response.links.get("next", {}).get("url")
            url = urljoin(response.url, following) if following else None

    def _read_only_message(self, method: str) -> str:
        # distribution answers 405 to every write while storage.maintenance.readonly is on
        # (playbooks/maintenance.yml's garbage-collection window).
        return (
            f"registry {self.settings.url} in maintenance (read-only, {method} refused), "
            "retry after the maintenance window"
        )

    def _unauthorized_message(self) -> str:
        if self.settings.username is None:
            return (
                f"registry at {self.settings.url} requires credentials (401); give --user and "
                "--password-file, or set LABDOCK_REGISTRY_USER and LABDOCK_REGISTRY_PASSWORD"
            )
        return (
            f"registry at {self.settings.url} rejected the credentials for user "
            f"{self.settings.username} (401)"
        )


def encode_manifest(manifest: dict[str, Any]) -> bytes:
    """The exact bytes put_manifest sends: an index must cite its children by these."""
    return json.dumps(manifest, separators=(",", ":")).encode()


def _repo_path(repository: str) -> str:
    # Repository names carry slashes as path components; anything else gets quoted.
    return quote(repository, safe="/")


def _error_summary(response: requests.Response) -> str:
    try:
        errors = response.json().get("errors") or []
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors) or "no detail"
    except ValueError:
        return response.text[:200] or "no detail"
