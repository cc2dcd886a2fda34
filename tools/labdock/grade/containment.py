"""Rewrite a student's compose model (`docker compose config --format json`) so that it can
run on the grading machine without reaching past the submission: no privileged mode, no host
or bridge namespaces (`network_mode` bridge, host, container:... all go: the default bridge
reaches the host's published ports), every capability dropped (a grid adds back only what its
own program provably needs), no-new-privileges, no devices, no bind mount outside the
submission and none that writes to it (see _contain_bind), no published host port, internal
networks only, a read-only root filesystem with a small tmpfs for writes where the grid says
the program allows it, every volume a tmpfs of `disk_size` (named, anonymous, or declared by
an image's VOLUME), and CPU, memory, pids and log-size limits on every container. What was
removed is returned as notes, shown as evidence. (A writable root is the container layer, on
the engine's disk: layerwatch.LayerWatch stops a container that writes more than `disk_size`
there; the fuse-overlayfs engine has no `storage_opt` size.)"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Limits:
    cpus: float = 1.0
    memory: str = "256m"
    pids: int = 128
    # The engine's log store per container (json-file, one file): a program printing in a
    # loop fills no disk.
    log_size: str = "1m"
    # The writable /tmp of a read-only container (tmpfs: in memory, within `memory`).
    tmpfs_size: str = "16m"
    # What a container may write to disk: each volume's tmpfs size, and the container layer
    # of a writable root (watched by layerwatch.LayerWatch, which stops a container past it).
    disk_size: str = "256m"


@dataclass(frozen=True)
class Privileges:
    """What a grid lets its programs have beyond nothing: capabilities added back per
    service (a database entrypoint that chowns its data folder, a web server binding port
    80), and whether every container's root filesystem is read-only."""

    capabilities: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    read_only: bool = False


NO_CAPABILITIES = ["ALL"]
# On every container whose root filesystem is writable: what layerwatch.LayerWatch lists (with
# sizes, which the engine computes by walking each container's layer: only these).
WRITABLE_LABEL = "labdock.grade.writable-root"
# The service added to a project with volumes, which keeps them mounted (see hold_volumes).
VOLUME_HOLDER = "labdock-volume-holder"
HOLDER_COMMAND = ["python3", "-c", "import time; time.sleep(86400)"]


# Service keys that reach past the container; dropped outright.
_DROPPED_SERVICE_KEYS = (
    "privileged",
    "cap_add",
    "devices",
    "device_cgroup_rules",
    "pid",
    "ipc",
    "uts",
    "userns_mode",
    "cgroup",
    "cgroup_parent",
    "security_opt",
    "sysctls",
    "runtime",
    "mac_address",
    "storage_opt",
    "volumes_from",
)
# Dropped without a note: harmless in the student's own setup, but they would clash between
# submissions graded side by side (fixed names, host ports); the grader needs neither.
_CLASHING_SERVICE_KEYS = ("container_name", "ports")
# Network namespaces a service may have: the project's networks (no network_mode) or none.
_ALLOWED_NETWORK_MODES = ("none",)


def outside_reads(raw: Mapping[str, Any], compose_dir: Path, root: Path) -> list[str]:
    """Files outside the submission that Compose would read while it resolves the student's
    file (`env_file`, `extends.file`, `include`): `compose config` runs with the grader's
    rights, so their content could reach a container and the feedback. One line each."""
    root = root.resolve()
    found: list[str] = []

    def check(what: str, value: object) -> None:
        if isinstance(value, str) and not _inside(compose_dir / value, root):
            found.append(f"{what} {value} is outside the submission")

    for entry in raw.get("include") or []:
        paths = entry.get("path") if isinstance(entry, Mapping) else entry
        for path in paths if isinstance(paths, list) else [paths]:
            check("include", path)
    for name, service in (raw.get("services") or {}).items():
        if not isinstance(service, Mapping):
            continue
        env_files = service.get("env_file") or []
        for env_file in env_files if isinstance(env_files, list) else [env_files]:
            check(f"service {name}: env_file", _path_of(env_file))
        extends = service.get("extends")
        if isinstance(extends, Mapping):
            check(f"service {name}: extends file", extends.get("file"))
    return found


def _path_of(entry: object) -> object:
    # env_file entries are paths, or {path: ..., required: ...} in the long syntax.
    return entry.get("path") if isinstance(entry, Mapping) else entry


def contain(
    model: Mapping[str, Any],
    root: Path,
    labels: Mapping[str, str],
    limits: Limits,
    privileges: Privileges | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The contained model and one note per thing removed from the student's file."""
    privileges = privileges or Privileges()
    contained = copy.deepcopy(dict(model))
    contained.pop("name", None)
    notes: list[str] = []
    root = root.resolve()
    for service_name, service in (contained.get("services") or {}).items():
        _contain_service(service_name, service, root, labels, limits, notes)
        service["cap_drop"] = NO_CAPABILITIES
        service["cap_add"] = list(privileges.capabilities.get(service_name, ()))
        if privileges.read_only:
            service["read_only"] = True
            service["tmpfs"] = [f"/tmp:size={limits.tmpfs_size}"]
        if not service.get("read_only"):
            service["labels"][WRITABLE_LABEL] = "true"
    networks = contained.get("networks") or {}
    networks.setdefault("default", {})
    contained["networks"] = {
        name: _internal_network(name, spec or {}, labels, notes) for name, spec in networks.items()
    }
    for volume_name in (contained.get("volumes") or {}).copy():
        _local_volume(volume_name, contained["volumes"][volume_name] or {}, notes)
    for service_name, service in (contained.get("services") or {}).items():
        _name_anonymous_volumes(service_name, service, contained)
    contained["volumes"] = {
        name: tmpfs_volume(labels, limits) for name in contained.get("volumes") or {}
    }
    for kind in ("secrets", "configs"):
        for name, spec in list((contained.get(kind) or {}).items()):
            source = (spec or {}).get("file")
            if source is None or not _inside(Path(source), root):
                notes.append(f"{kind[:-1]} {name}: only files inside the submission are allowed")
                del contained[kind][name]
                for service in (contained.get("services") or {}).values():
                    service[kind] = [
                        ref for ref in service.get(kind) or [] if ref.get("source") != name
                    ]
    return contained, notes


def _contain_service(
    name: str,
    service: dict[str, Any],
    root: Path,
    labels: Mapping[str, str],
    limits: Limits,
    notes: list[str],
) -> None:
    for key in _DROPPED_SERVICE_KEYS:
        if service.pop(key, None) not in (None, False, [], {}):
            notes.append(f"{name}: `{key}` removed")
    for key in _CLASHING_SERVICE_KEYS:
        service.pop(key, None)
    mode = service.get("network_mode")
    if mode is not None and mode not in _ALLOWED_NETWORK_MODES:
        notes.append(f"{name}: network_mode {mode} removed")
        del service["network_mode"]
    kept_volumes = []
    for volume in service.get("volumes") or []:
        if volume.get("type") == "bind":
            source = Path(volume.get("source", "/"))
            if not _inside(source, root):
                notes.append(f"{name}: bind mount of {source} outside the submission removed")
                continue
            _contain_bind(name, volume, source, root, notes)
        kept_volumes.append(volume)
    if "volumes" in service:
        service["volumes"] = kept_volumes
    service["labels"] = {**(service.get("labels") or {}), **labels}
    service["cpus"] = min(float(service.get("cpus") or limits.cpus), limits.cpus)
    service["mem_limit"] = limits.memory
    service["memswap_limit"] = limits.memory
    service["pids_limit"] = limits.pids
    service["security_opt"] = ["no-new-privileges:true"]
    service["logging"] = {
        "driver": "json-file",
        "options": {"max-size": limits.log_size, "max-file": "1"},
    }


def _contain_bind(
    name: str, volume: dict[str, Any], source: Path, root: Path, notes: list[str]
) -> None:
    """A bind mount inside the submission never writes to the hand-in (the teacher's copy,
    which a program could fill or wipe): what it brings (a file, a folder with content: a
    website's pages, a data file) is mounted read-only; an empty or missing folder, where a
    program means to write (a database's data), becomes a named volume: a tmpfs of
    `disk_size` like the others (contain() turns every volume into one)."""
    source = source.resolve()
    where = source.relative_to(root)
    if source.is_file() or (source.is_dir() and any(source.iterdir())):
        if not volume.get("read_only"):
            notes.append(f"{name}: bind mount of ./{where} made read-only")
            volume["read_only"] = True
        return
    notes.append(f"{name}: bind mount of the empty folder ./{where} replaced by a volume")
    target = volume.get("target")
    volume.clear()
    volume.update(type="volume", target=target)


def _internal_network(
    name: str, spec: dict[str, Any], labels: Mapping[str, str], notes: list[str]
) -> dict[str, Any]:
    if spec.get("external"):
        notes.append(f"network {name}: external network replaced by a private one")
    # Internal: containers reach each other and nothing else (no route out of the bridge).
    return {"internal": True, "labels": dict(labels)}


def _local_volume(name: str, spec: dict[str, Any], notes: list[str]) -> None:
    if spec.get("external") or spec.get("driver_opts") or spec.get("driver") not in (None, "local"):
        # driver_opts of the local driver can bind any host path (o=bind, device=/...).
        notes.append(
            f"volume {name}: external volume, driver or driver_opts replaced by a plain one"
        )


def tmpfs_volume(labels: Mapping[str, str], limits: Limits) -> dict[str, Any]:
    """A volume of the local driver that is a tmpfs of `disk_size`: writing more fails with
    "No space left on device", and nothing reaches the engine's disk. Its pages are charged
    to the memory cgroup of the container that writes them, so what a service keeps in its
    volumes also counts within its `memory` limit (and memswap = memory: none go to swap)."""
    return {
        "driver": "local",
        "driver_opts": {"type": "tmpfs", "device": "tmpfs", "o": f"size={limits.disk_size}"},
        "labels": dict(labels),
    }


def _name_anonymous_volumes(
    service_name: str, service: dict[str, Any], contained: dict[str, Any]
) -> None:
    # An anonymous volume (`- /data`) would be a folder on the engine's disk: it becomes a
    # named one, a tmpfs like the others.
    for volume in service.get("volumes") or []:
        if volume.get("type") == "volume" and not volume.get("source"):
            volume["source"] = _new_volume(contained, service_name)


def cover_image_volumes(
    contained: dict[str, Any],
    service_name: str,
    paths: Iterable[str],
    labels: Mapping[str, str],
    limits: Limits,
) -> None:
    """Mount a named tmpfs volume on each VOLUME of the service's image that nothing is
    mounted on: else the engine makes an anonymous volume there, on its disk, unbounded."""
    service = contained["services"][service_name]
    mounted = {str(v.get("target", "")).rstrip("/") for v in service.get("volumes") or []}
    mounted |= {str(t).split(":", 1)[0].rstrip("/") for t in service.get("tmpfs") or []}
    for path in paths:
        if path.rstrip("/") in mounted:
            continue
        name = _new_volume(contained, service_name)
        contained["volumes"][name] = tmpfs_volume(labels, limits)
        service.setdefault("volumes", []).append({"type": "volume", "source": name, "target": path})


def _new_volume(contained: dict[str, Any], service_name: str) -> str:
    volumes = contained.setdefault("volumes", {})
    index = 1
    while f"{service_name}-volume-{index}" in volumes:
        index += 1
    name = f"{service_name}-volume-{index}"
    volumes[name] = {}
    return name


def hold_volumes(
    contained: dict[str, Any], image: str, labels: Mapping[str, str], limits: Limits
) -> bool:
    """Add a service that mounts every volume of the model and sleeps; False if there is no
    volume. The local driver mounts a tmpfs volume while a container uses it and unmounts it,
    contents gone, when the last one stops; and the engine copies the image's folder (files,
    owner, mode: a database's data folder) into a new volume when it creates the container,
    before it starts it. Started first, the holder keeps each tmpfs mounted for the whole run:
    that copy stays, and so does the data of a container that restarts or is replaced."""
    volumes = contained.get("volumes") or {}
    if not volumes:
        return False
    holder: dict[str, Any] = {
        "image": image,
        "command": HOLDER_COMMAND,
        "network_mode": "none",
        "read_only": True,
        "cap_drop": NO_CAPABILITIES,
        "volumes": [
            # nocopy: the holder's own image puts nothing in them.
            {"type": "volume", "source": name, "target": f"/held/{name}", "read_only": True,
             "volume": {"nocopy": True}}
            for name in volumes
        ],
    }  # fmt: skip
    _contain_service(VOLUME_HOLDER, holder, Path("/"), labels, limits, [])
    contained.setdefault("services", {})[VOLUME_HOLDER] = holder
    return True


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
    except ValueError:
        return False
    return True
