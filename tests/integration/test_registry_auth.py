"""The registry refuses anonymous and wrong-password requests, and the CLI says so clearly."""

from __future__ import annotations

import pytest
import requests

from tests.harness.registry import USER, ThrowawayRegistry

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v2/_catalog"), ("POST", "/v2/labdock-test/anonymous/blobs/uploads/")],
    ids=["catalog", "push"],
)
def test_anonymous_requests_get_401_with_basic_challenge(
    registry: ThrowawayRegistry, method: str, path: str
) -> None:
    response = requests.request(
        method, registry.url + path, verify=str(registry.certs.ca_cert), timeout=10
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


def test_wrong_password_gets_401(registry: ThrowawayRegistry) -> None:
    response = requests.get(
        f"{registry.url}/v2/_catalog",
        auth=(USER, "not-the-password"),
        verify=str(registry.certs.ca_cert),
        timeout=10,
    )
    assert response.status_code == 401


def test_cli_reports_rejected_credentials_in_one_line(
    registry: ThrowawayRegistry, run_labdock
) -> None:
    env = registry.cli_env() | {"LABDOCK_REGISTRY_PASSWORD": "not-the-password"}
    result = run_labdock("catalog", env=env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"labdock: registry at {registry.url} rejected the credentials for user {USER} (401)\n"
    )
