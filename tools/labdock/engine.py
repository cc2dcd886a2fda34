"""What the local Docker engine knows that the registry does not: the digests its containers
run (prune must keep them) and the registry container's volume (its real size on disk)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from labdock.stackcheck.discovery import connect

REGISTRY_DATA = "/var/lib/registry"


@dataclass(frozen=True)
class RegistryVolume:
    container: str
    volume: str
    mountpoint: Path
    bytes_on_disk: int


def running_digests() -> dict[str, str]:
    """digest -> the container that uses it, for every container (stopped ones too: a
    stopped stack still needs its image to start again). The registry name in RepoDigests is
    ignored: a digest names the same content under any address."""
    client = connect()
    try:
        found: dict[str, str] = {}
        for container in client.containers.list(all=True):
            try:
                repo_digests = container.image.attrs.get("RepoDigests") or []
            except docker.errors.ImageNotFound:
                continue  # its image was removed under it; nothing to pull for it anyway
            for reference in repo_digests:
                found.setdefault(reference.rsplit("@", 1)[-1], container.name)
        return found
    finally:
        client.close()


def registry_volume(port: int) -> RegistryVolume | None:
    """The volume of the container that publishes `port` and mounts a volume on the
    registry's storage path, with its size on disk; None when the registry does not run
    on this engine (or its volume is a bind mount we do not own)."""
    client = connect()
    try:
        for container in client.containers.list():
            published = container.attrs.get("HostConfig", {}).get("PortBindings") or {}
            ports = {b.get("HostPort") for bindings in published.values() for b in bindings or []}
            if str(port) not in ports:
                continue
            for mount in container.attrs.get("Mounts") or []:
                if mount.get("Destination") == REGISTRY_DATA and mount.get("Type") == "volume":
                    mountpoint = Path(client.volumes.get(mount["Name"]).attrs["Mountpoint"])
                    return RegistryVolume(
                        container.name, mount["Name"], mountpoint, disk_usage(mountpoint)
                    )
        return None
    finally:
        client.close()


def disk_usage(root: Path) -> int:
    """Bytes allocated to the files under root (blocks, as `du` counts them): what deleting
    them gives back. Our own walk rather than `du`: no subprocess to parse."""
    total = 0
    for directory, _, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_blocks * 512
            except FileNotFoundError:
                continue  # removed while we walk (garbage collection, an upload finishing)
    return total
