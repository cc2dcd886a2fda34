"""Read-only checks of one service's container: health, image digest, PID 1, restart policy."""

from __future__ import annotations

import posixpath
from urllib.parse import urlsplit

import docker
import docker.errors

from labdock.errors import RegistryError
from labdock.registry import RegistryClient
from labdock.stackcheck.discovery import Service
from labdock.stackcheck.endpoints import Outcome

HEALTH_LOG_LINES = 3
# Programs that, as PID 1, mean the app runs as their child: signals and exit codes then
# reach a wrapper, not the app.
WRAPPERS = frozenset({"sh", "bash", "dash", "ash", "tini", "dumb-init", "docker-init", "su"})
RESTARTING_POLICIES = frozenset({"always", "unless-stopped", "on-failure"})


def health_log_tail(attrs: dict, lines: int = HEALTH_LOG_LINES) -> str:
    """The last line of each of the last health probes: where a failing check says why."""
    log = ((attrs.get("State") or {}).get("Health") or {}).get("Log") or []
    tails = []
    for entry in log[-lines:]:
        output = (entry.get("Output") or "").strip().splitlines()
        tails.append(f"[exit {entry.get('ExitCode')}] {output[-1] if output else ''}")
    return " | ".join(tails) or "no health log"


def check_health(service: Service) -> Outcome:
    service.container.reload()
    state = service.container.attrs["State"]
    status = state.get("Status")
    health = (state.get("Health") or {}).get("Status")
    if status == "running" and health == "healthy":
        return True, "running, healthy"
    if health is None:
        return False, f"{status}, no health check configured"
    return False, f"{status}, {health}: {health_log_tail(service.container.attrs)}"


def split_reference(reference: str) -> tuple[str, str, str]:
    """`host:port/name:tag` -> (host:port, name, tag); a digest reference keeps its digest."""
    path, _, digest = reference.partition("@")
    registry, _, rest = path.partition("/")
    name, separator, tag = rest.rpartition(":")
    if not separator:
        name, tag = rest, "latest"
    return registry, name, digest or tag


def check_digest(
    service: Service, client: docker.DockerClient, registry: RegistryClient
) -> Outcome:
    reference = service.container.attrs["Config"]["Image"]
    host, name, tag = split_reference(reference)
    registry_host = urlsplit(registry.settings.url).netloc
    if host != registry_host:
        return False, f"image {reference} does not come from the lab registry {registry_host}"
    try:
        expected = registry.manifest_digest(name, tag)
    except RegistryError as exc:
        return False, f"registry has no digest for {name}:{tag}: {exc}"
    try:
        image = client.images.get(service.container.attrs["Image"])
    except docker.errors.ImageNotFound:
        return False, f"the container's image {service.container.attrs['Image'][:19]} is gone"
    running = [d.split("@", 1)[1] for d in image.attrs.get("RepoDigests") or [] if "@" in d]
    if expected not in running:
        return (
            False,
            f"{name}:{tag} is {expected[:19]} in the registry, the container runs {running}",
        )
    return True, f"{name}:{tag} {expected[:19]}"


def pid1_cmdline(service: Service) -> list[str]:
    code, out = service.container.exec_run(["cat", "/proc/1/cmdline"])
    if code != 0:
        raise ValueError(f"cannot read /proc/1/cmdline: {out.decode(errors='replace').strip()}")
    return [arg for arg in out.decode(errors="replace").split("\0") if arg]


def check_pid1(service: Service) -> Outcome:
    try:
        argv = pid1_cmdline(service)
    except (ValueError, docker.errors.APIError) as exc:
        return False, str(exc)
    if not argv:
        return False, "PID 1 has an empty command line"
    program = posixpath.basename(argv[0])
    shown = " ".join(argv)[:120]
    if program in WRAPPERS:
        return False, f"PID 1 is the wrapper {program}, not the app: {shown}"
    return True, shown


def check_restart_policy(service: Service) -> Outcome:
    policy = (service.container.attrs["HostConfig"].get("RestartPolicy") or {}).get("Name") or "no"
    if policy in RESTARTING_POLICIES:
        return True, policy
    return False, f"restart policy {policy!r} does not bring a crashed app back"
