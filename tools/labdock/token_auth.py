"""Token authentication (distribution's `auth.token`): answer the registry's Bearer challenge.

The registry answers 401 with `WWW-Authenticate: Bearer realm=...,service=...,scope=...`;
the client asks the realm for a token with its Basic credentials and the scopes, and retries
with `Authorization: Bearer <token>`. Tokens are cached per scope until shortly before they
expire, and several scopes can be asked in one token request (the spec allows repeated
`scope` parameters), which is how a catalog walk gets the pull rights of a thousand
repositories in a few requests instead of a thousand.

Thread-safe: one TokenCache serves the thread pool of a RegistryClient.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests

from labdock.errors import RegistryAuthError, RegistryError, describe_request_error

# Scopes per token request: a batch's token lists them all, and travels in every request
# that uses it, so a batch is kept to a few kilobytes.
SCOPES_PER_TOKEN = 50
# The spec's default lifetime when the token service gives none.
DEFAULT_EXPIRES_IN = 60
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
_REPOSITORY_PATH = re.compile(r"^/v2/(?P<name>.+?)/(?:manifests|blobs|tags)/")
_ACTION_WEIGHT = {"delete": 0, "push": 1, "*": 2, "pull": 3}
_VERBS = {"pull": "pull from", "push": "push to", "delete": "delete from", "*": "administer"}


@dataclass(frozen=True)
class Challenge:
    scheme: str
    params: dict[str, str]

    @classmethod
    def parse(cls, header: str) -> Challenge:
        scheme, _, rest = header.strip().partition(" ")
        return cls(scheme.lower(), dict(_CHALLENGE_PARAM.findall(rest)))


class BearerAuth(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


@dataclass(frozen=True)
class _Token:
    value: str
    reuse_until: float
    granted: dict[tuple[str, str], frozenset[str]]


def scope_for(method: str, url: str) -> str:
    """The scope a request needs, derived from its path, so a cached token is used without
    waiting for the registry's challenge. Empty for the base /v2/ endpoint."""
    parts = urlsplit(url)
    path = unquote(parts.path)
    if path.rstrip("/") == "/v2":
        return ""
    if path == "/v2/_catalog":
        return "registry:catalog:*"
    match = _REPOSITORY_PATH.match(path)
    if match is None:
        return ""
    name = match["name"]
    if method in ("GET", "HEAD"):
        return f"repository:{name}:pull"
    if method == "DELETE":
        return f"repository:{name}:delete"
    scope = f"repository:{name}:pull,push"
    source = parse_qs(parts.query).get("from")
    if source:
        # A cross-repository mount also reads the source repository.
        scope += f" repository:{source[0]}:pull"
    return scope


class TokenCache:
    def __init__(
        self,
        session: requests.Session,
        credentials: tuple[str, str] | None,
        verify: str | bool,
        timeout: float,
    ) -> None:
        self.session = session
        self.credentials = credentials
        self.verify = verify
        self.timeout = timeout
        self.realm: str | None = None
        self.service: str | None = None
        self._tokens: dict[str, _Token] = {}
        self._lock = threading.Lock()
        self._fetching: dict[str, threading.Lock] = {}

    @property
    def active(self) -> bool:
        """True once the registry asked for Bearer tokens."""
        return self.realm is not None

    def learn(self, challenge: Challenge) -> None:
        self.realm = challenge.params.get("realm")
        self.service = challenge.params.get("service")
        if not self.realm:
            raise RegistryError("the registry asked for a Bearer token but named no realm")

    def token(self, scope: str, *, fresh: bool = False) -> str:
        """A token for `scope` (space-separated items), cached until shortly before expiry."""
        with self._lock:
            cached = self._tokens.get(scope)
            if cached is not None and not fresh and cached.reuse_until > time.monotonic():
                return cached.value
            fetching = self._fetching.setdefault(scope, threading.Lock())
        with fetching:
            with self._lock:
                cached = self._tokens.get(scope)
            # Another thread may have fetched it while this one waited.
            if cached is not None and not fresh and cached.reuse_until > time.monotonic():
                return cached.value
            token = self._fetch(scope.split())
            with self._lock:
                self._tokens[scope] = token
            return token.value

    def prefetch(self, scopes: Sequence[str]) -> None:
        """Fetch tokens for many scopes in batches, each batch one request."""
        with self._lock:
            now = time.monotonic()
            missing = [
                s for s in scopes if not (s in self._tokens and self._tokens[s].reuse_until > now)
            ]
        for start in range(0, len(missing), SCOPES_PER_TOKEN):
            batch = missing[start : start + SCOPES_PER_TOKEN]
            token = self._fetch(batch)
            with self._lock:
                for scope in batch:
                    self._tokens[scope] = token

    @staticmethod
    def _usable(token: _Token | None, now: float) -> bool:
        return token is not None and token.reuse_until > now

    def refusal(self, scope: str, token: str) -> str:
        """One line saying what the account may not do, from what the token granted."""
        granted = _granted(token)
        user = self.credentials[0] if self.credentials else "anonymous"
        for item in scope.split():
            resource_type, _, rest = item.partition(":")
            name, _, actions = rest.rpartition(":")
            # A push needs pull too: name the action the request is for, not its prerequisite.
            for action in sorted(actions.split(","), key=lambda a: _ACTION_WEIGHT.get(a, 2)):
                if action not in granted.get((resource_type, name), frozenset()):
                    if resource_type == "registry" and name == "catalog":
                        return f"user {user} may not list the registry's catalog"
                    return f"user {user} may not {_VERBS.get(action, action)} {name}"
        return f"the registry refused user {user}'s token for {scope or 'the base endpoint'}"

    def _fetch(self, scopes: Iterable[str]) -> _Token:
        assert self.realm is not None
        params: list[tuple[str, str]] = [("service", self.service)] if self.service else []
        params += [("scope", s) for s in scopes]
        try:
            response = self.session.get(
                self.realm,
                params=params,
                auth=self.credentials,
                verify=self.verify,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise RegistryError(
                f"token service {self.realm} (the registry's realm) failed: "
                f"{describe_request_error(exc)}"
            ) from exc
        if response.status_code == 401:
            if self.credentials is None:
                raise RegistryAuthError(
                    f"token service {self.realm} requires credentials (401); give --user and "
                    "--password-file, or set LABDOCK_REGISTRY_USER and LABDOCK_REGISTRY_PASSWORD"
                )
            raise RegistryAuthError(
                f"token service {self.realm} rejected the credentials for user "
                f"{self.credentials[0]} (401)"
            )
        if response.status_code != 200:
            raise RegistryError(
                f"token service {self.realm} answered {response.status_code}: {response.text[:200]}"
            )
        try:
            body: dict[str, Any] = response.json()
            value = body.get("token") or body["access_token"]
        except (ValueError, KeyError) as exc:
            raise RegistryError(f"token service {self.realm} sent no token") from exc
        expires_in = int(body.get("expires_in") or DEFAULT_EXPIRES_IN)
        # Reuse until shortly before expiry: a request in flight must not carry a dead token.
        margin = min(30.0, expires_in / 5)
        return _Token(value, time.monotonic() + expires_in - margin, _granted(value))


def _granted(token: str) -> dict[tuple[str, str], frozenset[str]]:
    """The `access` claim of a JWT, read without verifying it: the registry verifies; the
    client only wants to explain a refusal."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return {
            (entry["type"], entry["name"]): frozenset(entry.get("actions") or ())
            for entry in claims.get("access") or []
        }
    except (IndexError, ValueError, KeyError, TypeError, binascii.Error):
        return {}
