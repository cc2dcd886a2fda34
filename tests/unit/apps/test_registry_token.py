"""The token service's rules and WSGI app, without a server: rights per role and namespace,
the token's header and claims as distribution 2.8 checks them, wrong passwords."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import bcrypt
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from registry_token.app import Settings, TokenService
from registry_token.policy import Policy, Scope

PASSWORDS = {"labdock": "admin-secret", "labdock-pull": "pull-secret", "alice": "a", "bob": "b"}
ROLES = {"labdock": "admin", "labdock-pull": "pull", "alice": "student", "bob": "student"}


def _document(pattern: str = "{name}/") -> dict:
    return {
        "namespace_pattern": pattern,
        "accounts": {
            name: {
                "role": ROLES[name],
                "hash": bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode(),
            }
            for name, password in PASSWORDS.items()
        },
    }


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.from_document(_document())


@pytest.mark.parametrize(
    ("user", "scope", "granted"),
    [
        ("alice", "repository:alice/chat:pull,push", ["pull", "push"]),
        ("alice", "repository:alice/chat:delete", []),
        ("alice", "repository:bob/chat:pull,push", []),
        ("alice", "repository:bob/chat:delete", []),
        ("alice", "repository:student_age:pull,push", ["pull"]),
        ("alice", "registry:catalog:*", []),
        ("labdock-pull", "repository:alice/chat:pull,push", ["pull"]),
        ("labdock-pull", "repository:student_age:delete", []),
        ("labdock-pull", "registry:catalog:*", []),
        ("labdock", "repository:bob/chat:pull,push,delete", ["pull", "push", "delete"]),
        ("labdock", "registry:catalog:*", ["*"]),
    ],
)
def test_rights_per_role(policy: Policy, user: str, scope: str, granted: list[str]) -> None:
    assert policy.granted(policy.accounts[user], Scope.parse(scope)) == granted


def test_namespace_pattern_is_a_variable() -> None:
    policy = Policy.from_document(_document("students/{name}/"))
    alice = policy.accounts["alice"]
    assert policy.granted(alice, Scope.parse("repository:students/alice/x:push")) == ["push"]
    assert policy.granted(alice, Scope.parse("repository:students/bob/x:pull")) == []
    assert policy.granted(alice, Scope.parse("repository:alice/x:push")) == []


def _signing_files(folder: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test signer")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (folder / "signing.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (folder / "signing.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> TokenService:
    folder = tmp_path_factory.mktemp("token")
    _signing_files(folder)
    (folder / "accounts.json").write_text(json.dumps(_document()))
    env = {"TOKEN_DIR": str(folder), "TOKEN_ISSUER": "iss-x", "TOKEN_SERVICE": "svc-x"}
    return TokenService(Settings.from_env(env))


Call = Callable[..., tuple[str, dict, dict]]


@pytest.fixture
def call(service: TokenService) -> Call:
    def request(query: str, user: str | None, password: str | None = None) -> tuple:
        environ = {"PATH_INFO": "/token", "REQUEST_METHOD": "GET", "QUERY_STRING": query}
        if user is not None:
            secret = password if password is not None else PASSWORDS[user]
            credentials = base64.b64encode(f"{user}:{secret}".encode()).decode()
            environ["HTTP_AUTHORIZATION"] = f"Basic {credentials}"
        seen: dict = {}

        def start_response(status: str, headers: list) -> None:
            seen.update(status=status, headers=dict(headers))

        body = json.loads(b"".join(service(environ, start_response)))
        return seen["status"], seen["headers"], body

    return request


def test_token_carries_what_distribution_checks(call: Call, service: TokenService) -> None:
    status, headers, body = call(
        "service=svc-x&scope=repository:alice/chat:pull,push&scope=repository:bob/x:push", "alice"
    )
    assert status == "200 OK"
    assert headers["Cache-Control"] == "no-store"
    assert body["token"] == body["access_token"]
    assert body["expires_in"] == 300
    header = jwt.get_unverified_header(body["token"])
    assert header["alg"] == "ES256"
    certificate = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    claims = jwt.decode(
        body["token"], certificate.public_key(), algorithms=["ES256"], audience="svc-x"
    )
    assert claims["iss"] == "iss-x"
    assert claims["sub"] == "alice"
    assert claims["exp"] - claims["iat"] == 300
    assert claims["access"] == [
        {"type": "repository", "name": "alice/chat", "actions": ["pull", "push"]},
        {"type": "repository", "name": "bob/x", "actions": []},
    ]


def test_wrong_password_is_401(call: Call) -> None:
    status, headers, _ = call("service=svc-x", "alice", "not-alice")
    assert status == "401 Unauthorized"
    assert headers["WWW-Authenticate"].startswith("Basic ")


def test_no_credentials_is_401(call: Call) -> None:
    assert call("service=svc-x", None)[0] == "401 Unauthorized"


def test_other_service_is_refused(call: Call) -> None:
    status, _, body = call("service=someone-else", "labdock")
    assert status == "400 Bad Request"
    assert "svc-x" in body["error"]


def test_accounts_file_is_reread_when_it_changes(call: Call, service: TokenService) -> None:
    document = _document()
    del document["accounts"]["bob"]
    path = service.settings.accounts_file
    before = path.read_text()
    try:
        path.write_text(json.dumps(document, indent=1))
        assert call("service=svc-x", "bob")[0] == "401 Unauthorized"
    finally:
        path.write_text(before)
    assert call("service=svc-x", "bob")[0] == "200 OK"


def test_only_the_ui_origin_gets_cors_headers(tmp_path: Path) -> None:
    _signing_files(tmp_path)
    (tmp_path / "accounts.json").write_text(json.dumps(_document()))
    env = {
        "TOKEN_DIR": str(tmp_path),
        "TOKEN_ISSUER": "i",
        "TOKEN_SERVICE": "s",
        "TOKEN_CORS_ORIGIN": "http://lab:8080",
    }
    service = TokenService(Settings.from_env(env))
    seen: dict = {}

    def start_response(status: str, headers: list) -> None:
        seen.update(status=status, headers=dict(headers))

    for origin, allowed in (("http://lab:8080", "http://lab:8080"), ("http://evil:1", None)):
        environ = {"PATH_INFO": "/token", "REQUEST_METHOD": "OPTIONS", "HTTP_ORIGIN": origin}
        service(environ, start_response)
        assert seen["status"] == "204 No Content"
        assert seen["headers"].get("Access-Control-Allow-Origin") == allowed
