"""Integration-only fixtures: a Docker SDK client and a tiny image built FROM scratch."""

from __future__ import annotations

import contextlib
import io
import secrets
import tarfile
from collections.abc import Iterator

import docker
import docker.errors
import pytest
from docker.models.images import Image

from tests.harness.populate import TinyImage


@pytest.fixture
def scratch_image(docker_client: docker.DockerClient) -> Iterator[Image]:
    """A one-file image built by the engine from scratch (nothing to pull); unique content
    so its digest is new to the registry."""
    files = {
        "Dockerfile": b"FROM scratch\nCOPY hello.txt /hello.txt\n",
        "hello.txt": f"labdock integration {secrets.token_hex(8)}\n".encode(),
    }
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    tag = f"labdock-test/scratch:{secrets.token_hex(4)}"
    image, _ = docker_client.images.build(fileobj=context, custom_context=True, tag=tag, rm=True)
    try:
        yield image
    finally:
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(image.id, force=True)


@pytest.fixture(scope="session")
def tiny_image() -> TinyImage:
    return TinyImage.make()
