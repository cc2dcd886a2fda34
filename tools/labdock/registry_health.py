"""Health checks of the registry service itself: reachable, auth enforced, our credentials
accepted, and its TLS certificate trusted and not about to expire."""

from __future__ import annotations

import socket
import ssl
import time
import warnings
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import InsecureRequestWarning

from labdock.checks import CheckResult
from labdock.config import Settings
from labdock.errors import RegistryError, describe_request_error
from labdock.registry import RegistryClient

TIMEOUT = 10.0
SECONDS_PER_DAY = 86400


@dataclass(frozen=True)
class CertificateStatus:
    trusted: bool
    detail: str
    days_left: float | None = None


def check_registry(settings: Settings, *, min_days: int) -> list[CheckResult]:
    """The four checks, in the order a person would debug them."""
    is_tls = urlsplit(settings.url).scheme == "https"
    certificate = inspect_certificate(settings) if is_tls else None
    # Credentials go only to a server whose certificate we verified (or to a plain-http URL
    # the user configured on purpose); the anonymous probe carries no secret.
    trusted = certificate is None or certificate.trusted
    try:
        anonymous = _anonymous_probe(settings, verify=trusted)
    except requests.RequestException as exc:
        not_checked = "not checked: the registry is unreachable"
        results = [
            CheckResult("reachable", False, describe_request_error(exc)),
            CheckResult("auth enforced", False, not_checked),
            CheckResult("credentials accepted", False, not_checked),
        ]
    else:
        results = [
            CheckResult("reachable", True, f"GET /v2/ answered {anonymous.status_code}"),
            _auth_enforced(anonymous),
            _credentials_accepted(settings, trusted=trusted),
        ]
    return [*results, certificate_check(certificate, min_days=min_days)]


def inspect_certificate(settings: Settings) -> CertificateStatus:
    """Handshake with the configured CA (or the system store) and read the expiry date."""
    parts = urlsplit(settings.url)
    host, port = parts.hostname or "localhost", parts.port or 443
    context = ssl.create_default_context(
        cafile=str(settings.ca_cert) if settings.ca_cert is not None else None
    )
    try:
        with (
            socket.create_connection((host, port), timeout=TIMEOUT) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            peer = tls.getpeercert()
    except ssl.SSLCertVerificationError as exc:
        return CertificateStatus(
            False, f"not trusted by {_trust_source(settings)}: {exc.verify_message}"
        )
    except OSError as exc:  # ssl.SSLError included
        return CertificateStatus(
            False, f"no TLS handshake with {host}:{port}: {exc.strerror or exc}"
        )
    expires = ssl.cert_time_to_seconds(peer["notAfter"])
    days_left = (expires - time.time()) / SECONDS_PER_DAY
    return CertificateStatus(True, f"trusted by {_trust_source(settings)}", days_left)


def certificate_check(status: CertificateStatus | None, *, min_days: int) -> CheckResult:
    name = "certificate valid"
    if status is None:
        return CheckResult(name, False, "the registry URL is plain http: no TLS at all")
    if not status.trusted or status.days_left is None:
        return CheckResult(name, False, status.detail)
    days = int(status.days_left)
    if status.days_left < 0:
        return CheckResult(name, False, f"expired {-days} days ago")
    if status.days_left < min_days:
        return CheckResult(name, False, f"expires in {days} days (minimum {min_days})")
    return CheckResult(name, True, f"{status.detail}; expires in {days} days")


def _anonymous_probe(settings: Settings, *, verify: bool) -> requests.Response:
    with warnings.catch_warnings():
        # Unverified only when the certificate check already failed and reports why.
        warnings.simplefilter("ignore", InsecureRequestWarning)
        return requests.get(
            f"{settings.url}/v2/", verify=settings.verify if verify else False, timeout=TIMEOUT
        )


def _auth_enforced(anonymous: requests.Response) -> CheckResult:
    name = "auth enforced"
    challenge = anonymous.headers.get("WWW-Authenticate", "")
    # Basic (htpasswd) or Bearer (token auth): either way the registry asks who we are.
    if anonymous.status_code == 401 and challenge.lower().startswith(("basic", "bearer")):
        return CheckResult(name, True, f"anonymous request refused (401, {challenge})")
    if anonymous.status_code == 401:
        return CheckResult(
            name, False, f"401 but no Basic or Bearer challenge: {challenge or 'none'}"
        )
    return CheckResult(name, False, f"anonymous GET /v2/ answered {anonymous.status_code}")


def _credentials_accepted(settings: Settings, *, trusted: bool) -> CheckResult:
    name = "credentials accepted"
    if settings.credentials is None:
        return CheckResult(name, False, "no credentials configured")
    if not trusted:
        return CheckResult(name, False, "not sent: the certificate is not trusted")
    # The registry client answers a Bearer challenge with a token from the realm, so this
    # also checks the token service with token auth.
    try:
        with RegistryClient(settings, pool_size=1, timeout=TIMEOUT) as client:
            response = client.ping()
    except RegistryError as exc:
        return CheckResult(name, False, str(exc))
    how = " with a token" if client.tokens.active else ""
    return CheckResult(
        name, True, f"user {settings.username} accepted{how} ({response.status_code})"
    )


def _trust_source(settings: Settings) -> str:
    return str(settings.ca_cert) if settings.ca_cert is not None else "the system CA store"
