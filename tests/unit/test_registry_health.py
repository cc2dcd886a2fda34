"""How certificate status becomes the `certificate valid` row."""

from __future__ import annotations

import pytest

from labdock.registry_health import CertificateStatus, certificate_check


@pytest.mark.parametrize(
    ("status", "ok", "detail"),
    [
        (
            CertificateStatus(True, "trusted by ca.crt", 90.5),
            True,
            "trusted by ca.crt; expires in 90 days",
        ),
        (
            CertificateStatus(True, "trusted by ca.crt", 13.9),
            False,
            "expires in 13 days (minimum 14)",
        ),
        (CertificateStatus(True, "trusted by ca.crt", -2.5), False, "expired 2 days ago"),
        (
            CertificateStatus(False, "not trusted by ca.crt: self-signed"),
            False,
            "not trusted by ca.crt: self-signed",
        ),
        (None, False, "the registry URL is plain http: no TLS at all"),
    ],
)
def test_certificate_row(status: CertificateStatus | None, ok: bool, detail: str) -> None:
    result = certificate_check(status, min_days=14)
    assert (result.ok, result.detail) == (ok, detail)
