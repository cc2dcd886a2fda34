"""Local images for tests and benchmarks: tiny derived builds, and cleaning up our tags."""

from __future__ import annotations

import io
import tarfile

import docker


def build_from_dockerfile(client: docker.DockerClient, dockerfile: str, tag: str) -> None:
    """Build an image from a Dockerfile alone (no other context), with the legacy builder."""
    data = dockerfile.encode()
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    client.images.build(fileobj=context, custom_context=True, tag=tag, rm=True)


def untag_under(client: docker.DockerClient, address: str) -> None:
    """Drop every local tag under a registry address. Tags only, never by ID or with force:
    pushed images share their IDs with source tags (labdock/*, the make-site images) that
    must stay."""
    for image in client.images.list(name=f"{address}/*"):
        for reference in image.tags:
            if reference.startswith(f"{address}/"):
                client.images.remove(reference)
