"""`labdock health registry` against a real registry: all pass, then a CA that did not sign
the server certificate, then a certificate too close to expiry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.harness.pki import make_ca_and_server_cert
from tests.harness.registry import ThrowawayRegistry

pytestmark = pytest.mark.integration

CHECKS = ["reachable", "auth enforced", "credentials accepted", "certificate valid"]


def _checks(stdout: str) -> dict[str, dict]:
    return {check["name"]: check for check in json.loads(stdout)["checks"]}


def test_all_checks_pass(run_labdock, tmp_path: Path) -> None:
    junit = tmp_path / "health.xml"
    result = run_labdock("health", "registry", "--json", "--junit", str(junit))
    assert result.returncode == 0, result.stdout + result.stderr
    checks = _checks(result.stdout)
    assert list(checks) == CHECKS
    assert all(check["ok"] for check in checks.values())
    assert "expires in 29 days" in checks["certificate valid"]["detail"]
    assert 'failures="0"' in junit.read_text()


def test_table_shows_every_check(run_labdock) -> None:
    result = run_labdock("health", "registry")
    assert result.returncode == 0, result.stderr
    for name in CHECKS:
        assert name in result.stdout
    assert "FAIL" not in result.stdout


def test_other_ca_fails_the_certificate_check(
    registry: ThrowawayRegistry, run_labdock, tmp_path: Path
) -> None:
    other = make_ca_and_server_cert(tmp_path / "other")
    env = registry.cli_env() | {"LABDOCK_CA_CERT": str(other.ca_cert)}
    result = run_labdock("health", "registry", "--json", env=env)
    assert result.returncode == 1
    checks = _checks(result.stdout)
    assert not checks["certificate valid"]["ok"]
    assert f"not trusted by {other.ca_cert}" in checks["certificate valid"]["detail"]
    # The password is never sent to a server we could not verify.
    assert checks["credentials accepted"] == {
        "name": "credentials accepted",
        "ok": False,
        "detail": "not sent: the certificate is not trusted",
    }
    assert checks["reachable"]["ok"]
    assert checks["auth enforced"]["ok"]
    assert result.stderr.startswith("labdock: 2 of 4 checks failed: credentials accepted: ")
    assert "; certificate valid: not trusted by" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_certificate_expiring_too_soon_fails(run_labdock) -> None:
    result = run_labdock("health", "registry", "--json", "--min-days", "60")
    assert result.returncode == 1
    detail = _checks(result.stdout)["certificate valid"]["detail"]
    assert detail == "expires in 29 days (minimum 60)"
