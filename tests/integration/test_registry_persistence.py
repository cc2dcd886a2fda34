"""Registry data lives in the project's volume: it survives `down` (without -v) and a
recreated container."""

from __future__ import annotations

import secrets

import pytest

from labdock.registry import RegistryClient
from tests.harness.populate import TinyImage
from tests.harness.registry import ThrowawayRegistry

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "restart",
    [("down",), ("up", "-d", "--wait", "--force-recreate")],
    ids=["down-then-up", "force-recreate"],
)
def test_data_survives(
    registry: ThrowawayRegistry, tiny_image: TinyImage, restart: tuple[str, ...]
) -> None:
    repository = f"persist/{secrets.token_hex(4)}"
    with RegistryClient(registry.settings) as client:
        tiny_image.upload(client, repository)
        digest = client.put_manifest(repository, "1", tiny_image.manifest())
    containers_before = registry.compose("ps", "-q", "registry").stdout.split()
    try:
        registry.compose(*restart)
    finally:
        # Leave the shared registry running whatever happened.
        registry.compose("up", "-d", "--wait")
    assert registry.compose("ps", "-q", "registry").stdout.split() != containers_before
    with RegistryClient(registry.settings) as client:
        assert repository in client.catalog()
        assert client.manifest_digest(repository, "1") == digest
