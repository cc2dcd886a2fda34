"""The WSGI app: GET /token (distribution's token spec) and GET /healthz.

A token request carries Basic credentials and any number of `scope` parameters; the answer
is a JWT signed with the service's own key, whose `x5c` header carries that key's
certificate (the registry verifies it against its rootcertbundle), `aud` the registry's
service name, and `access` only what the account may do: a refused action is simply left
out, and the registry then answers the client with its own denial.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

import bcrypt
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from registry_token.policy import Account, Policy, Scope

LOG = logging.getLogger("registry_token")
StartResponse = Callable[[str, list[tuple[str, str]]], object]


@dataclass(frozen=True)
class Settings:
    issuer: str
    service: str
    ttl: int
    accounts_file: Path
    signing_key: Path
    signing_cert: Path
    # The web UI's origin: its page asks for tokens from the browser (CORS). Empty: none.
    cors_origin: str

    @classmethod
    def from_env(cls, env: dict[str, str] | os._Environ[str] = os.environ) -> Settings:
        folder = Path(env.get("TOKEN_DIR", "/token"))
        return cls(
            issuer=env["TOKEN_ISSUER"],
            service=env["TOKEN_SERVICE"],
            ttl=int(env.get("TOKEN_TTL", "300")),
            accounts_file=folder / "accounts.json",
            signing_key=folder / "signing.key",
            signing_cert=folder / "signing.crt",
            cors_origin=env.get("TOKEN_CORS_ORIGIN", ""),
        )


class AccountsFile:
    """The accounts file, re-read when it changes: the registry role rewrites it when a
    student is added or removed, and the service follows without a restart."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._policy: Policy | None = None

    def policy(self) -> Policy:
        stat = self.path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp or self._policy is None:
                document = json.loads(self.path.read_text(encoding="utf-8"))
                self._policy = Policy.from_document(document)
                self._stamp = stamp
            return self._policy


class PasswordCheck:
    """bcrypt is deliberately slow; a password once checked against a hash is remembered
    (by its SHA-256, never in clear) so a busy client pays bcrypt once, not per token."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._verified: set[tuple[str, bytes]] = set()

    def matches(self, account: Account, password: str) -> bool:
        key = (account.password_hash, hashlib.sha256(password.encode()).digest())
        with self._lock:
            if key in self._verified:
                return True
        if not bcrypt.checkpw(password.encode(), account.password_hash.encode()):
            return False
        with self._lock:
            self._verified.add(key)
        return True


class TokenService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.accounts = AccountsFile(settings.accounts_file)
        self.passwords = PasswordCheck()
        self._key = serialization.load_pem_private_key(settings.signing_key.read_bytes(), None)
        certificate = x509.load_pem_x509_certificate(settings.signing_cert.read_bytes())
        self._x5c = [
            base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()
        ]

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            return _respond(start_response, "200 OK", {"status": "ok"})
        cors = self._cors_headers(environ.get("HTTP_ORIGIN", ""))
        if path == "/token" and environ.get("REQUEST_METHOD") == "OPTIONS":
            return _respond(start_response, "204 No Content", None, cors)
        if path != "/token" or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _respond(start_response, "404 Not Found", {"error": "not found"})
        return self._token(environ, _with_headers(start_response, cors))

    def _cors_headers(self, origin: str) -> list[tuple[str, str]]:
        if not origin or origin != self.settings.cors_origin:
            return []
        return [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Credentials", "true"),
            ("Access-Control-Allow-Headers", "Authorization"),
            ("Access-Control-Allow-Methods", "GET, OPTIONS"),
            ("Vary", "Origin"),
        ]

    def _token(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        query = parse_qsl(environ.get("QUERY_STRING", ""))
        service = next((v for k, v in query if k == "service"), self.settings.service)
        if service != self.settings.service:
            return _respond(
                start_response,
                "400 Bad Request",
                {"error": f"this service signs for {self.settings.service!r}, not {service!r}"},
            )
        try:
            scopes = [Scope.parse(item) for k, v in query if k == "scope" for item in v.split(" ")]
        except ValueError as exc:
            return _respond(start_response, "400 Bad Request", {"error": str(exc)})
        account = self._authenticate(environ.get("HTTP_AUTHORIZATION", ""))
        if account is None:
            return _respond(
                start_response,
                "401 Unauthorized",
                {"error": "wrong user or password"},
                [("WWW-Authenticate", 'Basic realm="labdock registry token"')],
            )
        policy = self.accounts.policy()
        access = []
        for scope in scopes:
            actions = policy.granted(account, scope)
            access.append({"type": scope.type, "name": scope.name, "actions": actions})
        LOG.info(
            "token for %s: %s",
            account.name,
            " ".join(f"{a['type']}:{a['name']}:{','.join(a['actions']) or '-'}" for a in access)
            or "(no scope)",
        )
        now = int(time.time())
        claims = {
            "iss": self.settings.issuer,
            "sub": account.name,
            "aud": self.settings.service,
            "iat": now,
            "nbf": now,
            "exp": now + self.settings.ttl,
            "jti": secrets.token_urlsafe(16),
            "access": access,
        }
        token = jwt.encode(claims, self._key, algorithm="ES256", headers={"x5c": self._x5c})
        issued = dt.datetime.fromtimestamp(now, dt.UTC).isoformat().replace("+00:00", "Z")
        body = {
            "token": token,
            "access_token": token,
            "expires_in": self.settings.ttl,
            "issued_at": issued,
        }
        return _respond(start_response, "200 OK", body)

    def _authenticate(self, header: str) -> Account | None:
        kind, _, encoded = header.partition(" ")
        if kind.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        account = self.accounts.policy().accounts.get(user)
        if account is None or not self.passwords.matches(account, password):
            LOG.info("refused credentials for %r", user)
            return None
        return account


def _with_headers(start_response: StartResponse, extra: list[tuple[str, str]]) -> StartResponse:
    def start(status: str, headers: list[tuple[str, str]]) -> object:
        return start_response(status, [*headers, *extra])

    return start


def _respond(
    start_response: StartResponse,
    status: str,
    body: dict | None,
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    data = b"" if body is None else json.dumps(body).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),
            *(headers or []),
        ],
    )
    return [data]
