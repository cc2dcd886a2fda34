"""Images go through our registry intact: the engine pushes, pulls back the same digest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest
from docker.models.images import Image

from labdock.registry import RegistryClient
from tests.harness.registry import USER, ThrowawayRegistry

pytestmark = pytest.mark.integration


def _push(client: docker.DockerClient, repository: str, tag: str, auth: dict | None) -> list:
    return list(client.images.push(repository, tag, auth_config=auth, stream=True, decode=True))


def test_push_then_pull_gives_the_same_digest(
    docker_client: docker.DockerClient,
    scratch_image: Image,
    registry: ThrowawayRegistry,
    registry_client: RegistryClient,
) -> None:
    repository = f"{registry.address}/labdock-test/pushed"
    scratch_image.tag(repository, "1")
    auth = {"username": USER, "password": registry.password}
    events = _push(docker_client, repository, "1", auth)
    errors = [e["error"] for e in events if "error" in e]
    assert not errors
    pushed = next(e["aux"]["Digest"] for e in events if "aux" in e)
    assert registry_client.manifest_digest("labdock-test/pushed", "1") == pushed

    docker_client.images.remove(f"{repository}:1")
    pulled = docker_client.images.pull(repository, tag="1", auth_config=auth)
    try:
        assert f"{repository}@{pushed}" in pulled.attrs["RepoDigests"]
        assert pulled.id == scratch_image.id
    finally:
        docker_client.images.remove(f"{repository}:1", force=True)


@pytest.fixture
def anonymous_docker_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[docker.DockerClient]:
    """A client with an empty Docker config: with auth=None the SDK would otherwise send
    whatever `docker login` stored for this registry (the e2e fixtures log in to it). The
    SDK falls back to ~/.docker/config.json when DOCKER_CONFIG has no config.json."""
    (tmp_path / "config.json").write_text('{"auths": {}}', encoding="utf-8")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    client = docker.from_env()
    try:
        yield client
    finally:
        client.close()


def test_anonymous_push_is_refused(
    anonymous_docker_client: docker.DockerClient,
    scratch_image: Image,
    registry: ThrowawayRegistry,
) -> None:
    repository = f"{registry.address}/labdock-test/anonymous"
    scratch_image.tag(repository, "1")
    try:
        events = _push(anonymous_docker_client, repository, "1", auth=None)
    finally:
        anonymous_docker_client.images.remove(f"{repository}:1")
    errors = " ".join(e["error"] for e in events if "error" in e)
    # The engine's words for a token registry that got no credentials.
    assert "unauthorized: authentication required" in errors
