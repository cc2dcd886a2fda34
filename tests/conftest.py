"""Shared fixtures. Integration and end-to-end suites: a throwaway registry deployed by the
registry role and a way to run the real `labdock` console script against it. Unit
suites: a fake registry at the HTTP transport level."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import docker
import pytest
import requests
from requests.adapters import BaseAdapter

from labdock.config import Settings
from labdock.registry import RegistryClient
from tests.harness.registry import ThrowawayRegistry

# The students of the session registry (its role variable registry_students).
CLASS = ("alice", "bob", "carol")

LABDOCK = Path(sys.executable).parent / "labdock"

RunLabdock = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThrowawayRegistry]:
    """One registry for the session, deployed by the registry role: TLS from its own lab CA,
    token auth with a class of three students, its UI's origin (the lab's nginx), loopback
    ports."""
    with ThrowawayRegistry(tmp_path_factory.mktemp("registry"), students=CLASS, ui=True) as lab:
        yield lab


@pytest.fixture
def registry_client(registry: ThrowawayRegistry) -> Iterator[RegistryClient]:
    with RegistryClient(registry.settings) as client:
        yield client


@pytest.fixture
def run_labdock(registry: ThrowawayRegistry) -> RunLabdock:
    """Run the installed console script with settings for the test registry in its env."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(LABDOCK), *args],
            env=env if env is not None else registry.cli_env(),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    return run


class FakeRegistry(BaseAdapter):
    """A registry at the transport level for unit tests: serves the v2 read calls from a
    dict, pages like the real one (capped page size, Link: <...>; rel="next"), checks Basic
    auth, and records every request it sees."""

    def __init__(self, repositories: dict[str, dict[str, str]], *, page_cap: int = 1000) -> None:
        super().__init__()
        self.repositories = repositories
        self.page_cap = page_cap
        self.credentials: tuple[str, str] | None = ("alice", "secret")
        self.requests: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        self.requests.append(request)
        url = urlsplit(request.url or "")
        query = dict(parse_qsl(url.query))
        path = url.path
        if self.credentials is not None and request.headers.get("Authorization") != _basic(
            *self.credentials
        ):
            return self._respond(request, 401, headers={"WWW-Authenticate": 'Basic realm="x"'})
        if path == "/v2/":
            return self._respond(request, 200, body={})
        if path == "/v2/_catalog":
            return self._page(request, path, "repositories", sorted(self.repositories), query)
        name, _, rest = path.removeprefix("/v2/").partition("/tags/list")
        if not rest and path.endswith("/tags/list") and name in self.repositories:
            return self._page(request, path, "tags", sorted(self.repositories[name]), query)
        name, _, reference = path.removeprefix("/v2/").rpartition("/manifests/")
        tags = self.repositories.get(name, {})
        if request.method == "HEAD" and reference in tags:
            return self._respond(request, 200, headers={"Docker-Content-Digest": tags[reference]})
        if request.method == "DELETE" and reference in tags.values():
            self.repositories[name] = {t: d for t, d in tags.items() if d != reference}
            return self._respond(request, 202)
        return self._respond(request, 404, body={"errors": [{"code": "UNKNOWN"}]})

    def close(self) -> None:
        pass

    def _page(
        self,
        request: requests.PreparedRequest,
        path: str,
        key: str,
        items: list[str],
        query: dict[str, str],
    ) -> requests.Response:
        size = min(int(query.get("n", self.page_cap)), self.page_cap)
        after = [item for item in items if item > query.get("last", "")]
        page = after[:size]
        headers = {}
        if len(after) > size:
            # Relative, as the real registry sends it.
            headers["Link"] = f'<{path}?last={page[-1]}&n={size}>; rel="next"'
        return self._respond(request, 200, body={key: page}, headers=headers)

    @staticmethod
    def _respond(
        request: requests.PreparedRequest,
        status: int,
        *,
        body: object = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response.request = request
        response.url = request.url or ""
        response.headers.update(headers or {})
        response._content = b"" if body is None else json.dumps(body).encode()
        return response


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def fake_registry(monkeypatch: pytest.MonkeyPatch) -> FakeRegistry:
    """Every RegistryClient made during the test talks to this fake instead of the network."""
    fake = FakeRegistry({})
    monkeypatch.setattr("labdock.registry.HTTPAdapter", lambda **_: fake)
    return fake


@pytest.fixture
def fake_settings() -> Settings:
    return Settings("https://registry.test:5000", "alice", "secret", None)
