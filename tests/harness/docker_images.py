"""Local images for tests and benchmarks: tiny derived builds, and cleaning up our tags."""

from __future__ import annotations

import io
import tarfile

import docker


def one_file_tar(name: str, data: bytes) -> bytes:
    """An uncompressed tar archive holding one file: a build context or an image layer."""
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return archive.getvalue()


def build_from_dockerfile(
    client: docker.DockerClient, dockerfile: str, tag: str, *, network_mode: str | None = None
) -> None:
    """Build an image from a Dockerfile alone (no other context), with the legacy builder;
    `network_mode="none"` builds as a lab room does, with no route to any index."""
    context = io.BytesIO(one_file_tar("Dockerfile", dockerfile.encode()))
    client.images.build(
        fileobj=context, custom_context=True, tag=tag, rm=True, network_mode=network_mode
    )


def untag_under(client: docker.DockerClient, address: str) -> None:
    """Drop every local tag under a registry address. Tags only, never by ID or with force:
    pushed images share their IDs with source tags (labdock/*, the make-site images) that
    must stay."""
    for image in client.images.list(name=f"{address}/*"):
        for reference in image.tags:
            if reference.startswith(f"{address}/"):
                client.images.remove(reference)
