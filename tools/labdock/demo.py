"""Start an interactive demo stack (the socket chat) again: its programs end when a person
types `bye`, and restart policy on-failure leaves them ended, as designed."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import docker
import yaml

from labdock.errors import LabdockError
from labdock.stackcheck.discovery import Service, services_of

DEPENDS_ON_LABEL = "com.docker.compose.depends_on"
CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"
STOP_TIMEOUT = 2
POLL_INTERVAL = 0.5


@dataclass(frozen=True)
class Started:
    service: str
    container: str
    healthy: bool


def is_interactive(service: Service) -> bool:
    config = service.container.attrs["Config"]
    return bool(config.get("Tty") and config.get("OpenStdin"))


def dependencies(service: Service) -> set[str]:
    """Service names from Compose's label, `socket_server:service_healthy:false,...`; a
    container created with --no-deps (the stacks role updates one service at a time) has an
    empty label, so then from the compose files the project was created from."""
    label = service.container.labels.get(DEPENDS_ON_LABEL, "")
    if label:
        return {entry.split(":", 1)[0] for entry in label.split(",") if entry}
    found: set[str] = set()
    for path in service.container.labels.get(CONFIG_FILES_LABEL, "").split(","):
        try:
            model = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        spec = ((model or {}).get("services") or {}).get(service.name) or {}
        found.update(spec.get("depends_on") or [])
    return found


def start_order(services: Sequence[Service]) -> list[Service]:
    """Dependencies first: the server listens before the client connects to it."""
    ordered: list[Service] = []
    pending = list(services)
    while pending:
        ready = [s for s in pending if dependencies(s) <= {o.name for o in ordered}]
        # A dependency outside the demo's services is not ours to wait for.
        ordered += ready or pending
        pending = [s for s in pending if s not in ordered]
    return ordered


def _wait_healthy(service: Service, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        service.container.reload()
        state = service.container.attrs["State"]
        health = (state.get("Health") or {}).get("Status")
        if state.get("Status") == "running" and health in (None, "healthy"):
            return True
        if state.get("Status") == "exited" or health == "unhealthy":
            return False
        time.sleep(POLL_INTERVAL)
    return False


def restart_demo(
    client: docker.DockerClient, stack: str, project: str, timeout: float
) -> list[Started]:
    """Stop the demo's programs (clients first) and start them in dependency order, each
    healthy before the next starts. Other services of the stack are left alone."""
    services = [s for s in services_of(client, stack, project) if is_interactive(s)]
    if not services:
        raise LabdockError(
            f"{stack} has no interactive service under project {project}: only a deployed "
            "demo stack such as socket_chat can be started again"
        )
    ordered = start_order(services)
    for service in reversed(ordered):
        service.container.stop(timeout=STOP_TIMEOUT)
    started = []
    for service in ordered:
        service.container.start()
        healthy = _wait_healthy(service, timeout)
        started.append(Started(service.name, service.container.name, healthy))
        if not healthy:
            break
    return started
