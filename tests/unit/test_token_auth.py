"""The registry client's token auth against a fake registry and token service at the HTTP
transport level: the challenge is answered, tokens are cached and batched, refusals and an
unreachable token service are one clear line."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter

from labdock.config import Settings
from labdock.errors import RegistryAuthError, RegistryError
from labdock.registry import RegistryClient
from labdock.token_auth import SCOPES_PER_TOKEN, scope_for

REALM = "https://auth.test/token"
SETTINGS = Settings("https://registry.test:5000", "alice", "secret", None)


@pytest.mark.parametrize(
    ("method", "url", "scope"),
    [
        ("GET", "https://r/v2/", ""),
        ("GET", "https://r/v2/_catalog?n=1000", "registry:catalog:*"),
        ("HEAD", "https://r/v2/alice/app/manifests/1.0", "repository:alice/app:pull"),
        ("GET", "https://r/v2/app/tags/list?n=10", "repository:app:pull"),
        ("DELETE", "https://r/v2/app/manifests/sha256:ab", "repository:app:delete"),
        ("PUT", "https://r/v2/a/b/blobs/uploads/u?digest=x", "repository:a/b:pull,push"),
        (
            "POST",
            "https://r/v2/a/blobs/uploads/?mount=sha256:x&from=b/c",
            "repository:a:pull,push repository:b/c:pull",
        ),
    ],
)
def test_scope_is_derived_from_the_request(method: str, url: str, scope: str) -> None:
    assert scope_for(method, url) == scope


def _jwt(access: list[dict]) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part({'access': access})}.sig"


class TokenLab(BaseAdapter):
    """A registry that wants Bearer tokens and its token service; alice may pull `app` only."""

    def __init__(self) -> None:
        super().__init__()
        self.token_requests: list[list[str]] = []
        self.token_service_up = True

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        url = urlsplit(request.url or "")
        if url.netloc == "auth.test":
            return self._token(request, url.query)
        access = _access(request.headers.get("Authorization", ""))
        scope = scope_for(request.method or "GET", request.url or "")
        needed = [item.split(":") for item in scope.split()]
        bearer = request.headers.get("Authorization", "").startswith("Bearer ")
        if bearer and all(set(a.split(",")) <= access.get((t, n), set()) for t, n, a in needed):
            return _respond(request, 200, {"tags": ["1"]}, {"Docker-Content-Digest": "sha256:d"})
        challenge = f'Bearer realm="{REALM}",service="svc"'
        if scope:
            challenge += f',scope="{scope}"'
        return _respond(request, 401, {"errors": []}, {"WWW-Authenticate": challenge})

    def _token(self, request: requests.PreparedRequest, query: str) -> requests.Response:
        if not self.token_service_up:
            raise requests.ConnectionError("[Errno 111] Connection refused", request=request)
        expected = "Basic " + base64.b64encode(b"alice:secret").decode()
        if request.headers.get("Authorization") != expected:
            return _respond(request, 401, {})
        scopes = [v for k, v in parse_qsl(query) if k == "scope"]
        self.token_requests.append(scopes)
        access = []
        for scope in scopes:
            kind, name, actions = scope.split(":")
            allowed = ["pull"] if kind == "repository" and name.startswith("app") else []
            access.append(
                {
                    "type": kind,
                    "name": name,
                    "actions": [a for a in actions.split(",") if a in allowed],
                }
            )
        return _respond(request, 200, {"token": _jwt(access), "expires_in": 300})

    def close(self) -> None:
        pass


def _access(header: str) -> dict[tuple[str, str], set[str]]:
    if not header.startswith("Bearer "):
        return {}
    payload = header.removeprefix("Bearer ").split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return {(a["type"], a["name"]): set(a["actions"]) for a in claims["access"]}


def _respond(
    request: requests.PreparedRequest, status: int, body: dict, headers: dict | None = None
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.request = request
    response.url = request.url or ""
    response.headers.update(headers or {})
    response._content = json.dumps(body).encode()
    return response


@pytest.fixture
def lab(monkeypatch: pytest.MonkeyPatch) -> TokenLab:
    fake = TokenLab()
    monkeypatch.setattr("labdock.registry.HTTPAdapter", lambda **_: fake)
    return fake


def test_challenge_answered_then_token_reused(lab: TokenLab) -> None:
    with RegistryClient(SETTINGS) as client:
        assert client.tags("app") == ["1"]
        assert client.manifest_digest("app", "1") == "sha256:d"
    # One token for the scope, fetched on the first challenge, reused for the second call.
    assert lab.token_requests == [["repository:app:pull"]]


def test_prefetch_asks_many_scopes_per_token_request(lab: TokenLab) -> None:
    repositories = [f"app{i}" for i in range(SCOPES_PER_TOKEN * 2 + 1)]
    with RegistryClient(SETTINGS) as client:
        client.ping()
        client.prefetch_pull_tokens(repositories)
        for repository in repositories:
            client.tags(repository)
    sizes = [len(scopes) for scopes in lab.token_requests]
    assert sizes == [0, SCOPES_PER_TOKEN, SCOPES_PER_TOKEN, 1]


def test_refused_push_is_one_line_naming_user_action_and_repository(lab: TokenLab) -> None:
    with RegistryClient(SETTINGS) as client, pytest.raises(RegistryAuthError) as refused:
        client.put_manifest("bob/app", "1", {"mediaType": "x"})
    assert str(refused.value) == "user alice may not push to bob/app"


def test_refused_catalog(lab: TokenLab) -> None:
    with RegistryClient(SETTINGS) as client, pytest.raises(RegistryAuthError) as refused:
        client.catalog()
    assert str(refused.value) == "user alice may not list the registry's catalog"


def test_wrong_password_names_the_token_service(lab: TokenLab) -> None:
    settings = Settings(SETTINGS.url, "alice", "wrong", None)
    with RegistryClient(settings) as client, pytest.raises(RegistryAuthError) as refused:
        client.tags("app")
    assert (
        str(refused.value) == f"token service {REALM} rejected the credentials for user alice (401)"
    )


def test_token_service_down_names_the_realm(lab: TokenLab) -> None:
    lab.token_service_up = False
    with RegistryClient(SETTINGS) as client, pytest.raises(RegistryError) as failed:
        client.tags("app")
    assert str(failed.value).startswith(f"token service {REALM} (the registry's realm) failed: ")
