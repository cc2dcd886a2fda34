"""Fill a registry cheaply: upload one tiny image's blobs once, then give every other
repository the same blobs by cross-repository mount and PUT the same manifest under each
tag. A thousand repositories cost requests, not pushes."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from labdock.registry import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    RegistryClient,
    encode_manifest,
)
from tests.harness.docker_images import one_file_tar

_CONFIG_TYPES = {
    DOCKER_MANIFEST: "application/vnd.docker.container.image.v1+json",
    OCI_MANIFEST: "application/vnd.oci.image.config.v1+json",
}
_LAYER_TYPES = {
    DOCKER_MANIFEST: "application/vnd.docker.image.rootfs.diff.tar.gzip",
    OCI_MANIFEST: "application/vnd.oci.image.layer.v1.tar+gzip",
}
_INDEX_TYPES = {DOCKER_MANIFEST_LIST: DOCKER_MANIFEST, OCI_INDEX: OCI_MANIFEST}


@dataclass(frozen=True)
class Blob:
    data: bytes

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class TinyImage:
    """A one-file image: a real gzip'd tar layer and a config naming its diff ID."""

    layer: Blob
    config: Blob

    @classmethod
    def make(
        cls, text: str = "labdock\n", *, created: str | None = None, architecture: str = "amd64"
    ) -> TinyImage:
        """`created` (RFC 3339) goes in the config, as a build writes it: retention reads it."""
        layer_tar = one_file_tar("hello.txt", text.encode())
        layer = gzip.compress(layer_tar, mtime=0)
        config: dict[str, Any] = {
            "architecture": architecture,
            "os": "linux",
            "config": {},
            "rootfs": {
                "type": "layers",
                "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()],
            },
        }
        if created is not None:
            config["created"] = created
        return cls(Blob(layer), Blob(json.dumps(config, sort_keys=True).encode()))

    @property
    def architecture(self) -> str:
        return json.loads(self.config.data)["architecture"]

    def manifest(self, media_type: str = DOCKER_MANIFEST) -> dict[str, Any]:
        return {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": _descriptor(_CONFIG_TYPES[media_type], self.config.data),
            "layers": [_descriptor(_LAYER_TYPES[media_type], self.layer.data)],
        }

    def index(self, media_type: str = OCI_INDEX) -> dict[str, Any]:
        """A one-platform manifest list or OCI index over this image's manifest."""
        return index_of([self], media_type)

    def upload(self, client: RegistryClient, repository: str) -> None:
        for blob in (self.layer, self.config):
            client.upload_blob(repository, blob.data, blob.digest)

    def mount(self, client: RegistryClient, repository: str, source: str) -> None:
        for blob in (self.layer, self.config):
            if not client.mount_blob(repository, blob.digest, source):
                # The registry may decline a mount (it then opened a normal upload): upload.
                client.upload_blob(repository, blob.data, blob.digest)


def index_of(images: Sequence[TinyImage], media_type: str = OCI_INDEX) -> dict[str, Any]:
    """A manifest list or OCI index over the images' manifests, one platform each."""
    children = []
    for image in images:
        child = image.manifest(_INDEX_TYPES[media_type])
        descriptor = _descriptor(child["mediaType"], encode_manifest(child))
        descriptor["platform"] = {"architecture": image.architecture, "os": "linux"}
        children.append(descriptor)
    return {"schemaVersion": 2, "mediaType": media_type, "manifests": children}


def push_index(
    client: RegistryClient,
    repository: str,
    tag: str,
    images: Sequence[TinyImage],
    media_type: str = OCI_INDEX,
) -> str:
    """Upload the images and their manifests (by digest), then the index under `tag`."""
    for image in images:
        image.upload(client, repository)
        child = image.manifest(_INDEX_TYPES[media_type])
        client.put_manifest(repository, Blob(encode_manifest(child)).digest, child)
    return client.put_manifest(repository, tag, index_of(images, media_type))


def fill(
    client: RegistryClient,
    image: TinyImage,
    repositories: Sequence[str],
    tags: Sequence[str],
    *,
    workers: int = 16,
) -> str:
    """Every repository gets `tags`, all pointing at the tiny image; returns its digest."""
    seed, *others = repositories
    image.upload(client, seed)
    manifest = image.manifest()
    digest = client.put_manifest(seed, tags[0], manifest)

    def populate(repository: str) -> None:
        if repository != seed:
            image.mount(client, repository, seed)
        for tag in tags:
            client.put_manifest(repository, tag, manifest)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        # list() re-raises the first failure instead of dropping it.
        list(pool.map(populate, [seed, *others]))
    return digest


def _descriptor(media_type: str, data: bytes) -> dict[str, Any]:
    return {
        "mediaType": media_type,
        "size": len(data),
        "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
    }
