"""The registry refuses anonymous and wrong-password requests, and the CLI says so clearly.
The session registry uses token auth (the role's default): the registry challenges with
Bearer and the token service refuses a wrong password."""

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
def test_anonymous_requests_get_401_with_bearer_challenge(
    registry: ThrowawayRegistry, method: str, path: str
) -> None:
    response = requests.request(
        method, registry.url + path, verify=str(registry.certs.ca_cert), timeout=10
    )
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith(f'Bearer realm="{registry.realm}",service="')


@pytest.mark.parametrize("user", [USER, "alice"])
def test_wrong_password_gets_401(registry: ThrowawayRegistry, user: str) -> None:
    response = requests.get(
        registry.realm,
        params={"scope": "repository:student_age:pull"},
        auth=(user, "not-the-password"),
        verify=str(registry.certs.ca_cert),
        timeout=10,
    )
    assert response.status_code == 401
    # Basic credentials sent to the registry itself are not a way in either.
    direct = requests.get(
        f"{registry.url}/v2/_catalog",
        auth=(USER, registry.password),
        verify=str(registry.certs.ca_cert),
        timeout=10,
    )
    assert direct.status_code == 401


def test_cli_reports_rejected_credentials_in_one_line(
    registry: ThrowawayRegistry, run_labdock
) -> None:
    env = registry.cli_env() | {"LABDOCK_REGISTRY_PASSWORD": "not-the-password"}
    result = run_labdock("catalog", env=env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"labdock: token service {registry.realm} rejected the credentials for user {USER} (401)\n"
    )
