"""Find a stack's containers through the labels Compose puts on them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import docker
import docker.errors
from docker.models.containers import Container

from labdock.errors import LabdockError

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
ONEOFF_LABEL = "com.docker.compose.oneoff"


@dataclass(frozen=True)
class Service:
    stack: str
    project: str
    name: str
    container: Container

    @property
    def label(self) -> str:
        return f"{self.stack}/{self.name}"

    @property
    def image_name(self) -> str:
        """Repository name without the registry or tag: `lab.example:5000/simple-api:1.0` ->
        `simple-api`. The rules follow the app, whatever the service is called."""
        return image_name(self.container.attrs["Config"]["Image"])


def image_name(reference: str) -> str:
    """An image reference's last path part without tag or digest:
    `registry:5000/course/postgres:15@sha256:...` -> `postgres`."""
    last = reference.split("@", 1)[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def connect() -> docker.DockerClient:
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        raise LabdockError(f"cannot reach the Docker engine: {exc}") from None
    return client


def services_of(client: docker.DockerClient, stack: str, project: str) -> list[Service]:
    """Every container of the project (stopped ones too: a stopped service is a finding)."""
    containers = client.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={project}"})
    found = [
        Service(stack, project, c.labels.get(SERVICE_LABEL, c.name), c)
        for c in containers
        if c.labels.get(ONEOFF_LABEL, "False") != "True"
    ]
    return sorted(found, key=lambda s: (s.name, s.container.name))


def deployed_stacks(
    client: docker.DockerClient, prefix: str, known: Sequence[str] | None
) -> list[str]:
    """The stacks that have at least one container under the prefix: of the lab's stacks in
    their order when they are known, else every project under the prefix."""
    projects = {
        c.labels.get(PROJECT_LABEL, "")
        for c in client.containers.list(all=True, filters={"label": PROJECT_LABEL})
    }
    if known is None:
        return sorted(p.removeprefix(prefix) for p in projects if p.startswith(prefix))
    return [stack for stack in known if f"{prefix}{stack}" in projects]
