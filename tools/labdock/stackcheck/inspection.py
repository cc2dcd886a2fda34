"""Read-only checks of one service's container: health, image digest, PID 1, restart policy."""

from __future__ import annotations

import posixpath
from pathlib import Path
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
WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"


def health_log_tail(attrs: dict, lines: int = HEALTH_LOG_LINES) -> str:
    """The last line of each of the last health probes: where a failing check says why."""
    log = ((attrs.get("State") or {}).get("Health") or {}).get("Log") or []
    tails = []
    for entry in log[-lines:]:
        output = (entry.get("Output") or "").strip().splitlines()
        tails.append(f"[exit {entry.get('ExitCode')}] {output[-1] if output else ''}")
    return " | ".join(tails) or "no health log"


def is_ended_demo(attrs: dict) -> bool:
    """An interactive program (a terminal people attach to, restarted only on failure) that
    exited 0: the socket chat after `bye`, a demo that ended as designed."""
    state, config = attrs["State"], attrs["Config"]
    policy = (attrs["HostConfig"].get("RestartPolicy") or {}).get("Name")
    ended = state.get("Status") == "exited" and state.get("ExitCode") == 0
    return bool(config.get("Tty") and config.get("OpenStdin")) and policy == "on-failure" and ended


def check_health(service: Service) -> Outcome:
    service.container.reload()
    state = service.container.attrs["State"]
    status = state.get("Status")
    health = (state.get("Health") or {}).get("Status")
    if status == "running" and health == "healthy":
        return True, "running, healthy"
    if is_ended_demo(service.container.attrs):
        return True, f"ended (exit 0); `labdock demo {service.stack}` starts it again"
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


def recorded_reference(service: Service) -> str | None:
    """The `<registry>/<name>@sha256:...` the stacks role recorded for this image in the
    deployment's .env (`<NAME>_IMAGE=`), or None for a stack deployed without a record."""
    working_dir = service.container.labels.get(WORKING_DIR_LABEL)
    if not working_dir or not (Path(working_dir) / ".env").is_file():
        return None
    variable = service.image_name.upper().replace("-", "_") + "_IMAGE="
    for line in (Path(working_dir) / ".env").read_text(encoding="utf-8").splitlines():
        if line.startswith(variable):
            return line[len(variable) :].strip() or None
    return None


def running_digests(service: Service, client: docker.DockerClient) -> list[str]:
    try:
        image = client.images.get(service.container.attrs["Image"])
    except docker.errors.ImageNotFound:
        raise ValueError(
            f"the container's image {service.container.attrs['Image'][:19]} is gone"
        ) from None
    return [d.split("@", 1)[1] for d in image.attrs.get("RepoDigests") or [] if "@" in d]


def check_digest(
    service: Service, client: docker.DockerClient, registry: RegistryClient
) -> Outcome:
    """With a record (.env), the running image must be the recorded digest; without one,
    the registry's current digest of the container's tag."""
    recorded = recorded_reference(service)
    if recorded is not None:
        _, name, digest = split_reference(recorded)
        running = running_digests(service, client)
        if digest not in running:
            return False, f"{name} runs {running}, the rollout recorded {digest[:19]}"
        return True, f"{name}@{digest[:19]} as recorded"
    reference = service.container.attrs["Config"]["Image"]
    host, name, tag = split_reference(reference)
    registry_host = urlsplit(registry.settings.url).netloc
    if host != registry_host:
        return False, f"image {reference} does not come from the lab registry {registry_host}"
    try:
        expected = registry.manifest_digest(name, tag)
    except RegistryError as exc:
        return False, f"registry has no digest for {name}:{tag}: {exc}"
    running = running_digests(service, client)
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
