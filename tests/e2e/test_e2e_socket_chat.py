"""Socket chat through attached terminals: Hello both ways, then `bye` ends both containers.
Runs after the other flows (it ends the chat stack's containers)."""

from __future__ import annotations

import time

import docker
import pytest
from docker.models.containers import Container
from e2e_lab import Lab

from labdock.grade.chat import type_line

pytestmark = pytest.mark.e2e

STEP_TIMEOUT = 30.0


def chat_container(client: docker.DockerClient, lab: Lab, service: str) -> Container:
    project = lab.project("socket_chat")
    (found,) = client.containers.list(
        all=True,
        filters={
            "label": [
                f"com.docker.compose.project={project}",
                f"com.docker.compose.service={service}",
            ]
        },
    )
    return found


def wait_for_output(container: Container, expected: str) -> None:
    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline:
        if expected in container.logs().decode(errors="replace"):
            return
        time.sleep(0.25)
    tail = container.logs(tail=10).decode(errors="replace")
    raise AssertionError(f"{container.name} never printed {expected!r}; last output: {tail!r}")


def test_hello_both_ways_then_bye_ends_both(lab: Lab, docker_client: docker.DockerClient) -> None:
    server = chat_container(docker_client, lab, "socket_server")
    client = chat_container(docker_client, lab, "socket_client")

    type_line(client, "Hello")
    wait_for_output(server, "from connected user: Hello")
    type_line(server, "Hello")
    wait_for_output(client, "Received from server: Hello")

    type_line(client, " BYE ")
    for c in (client, server):
        result = c.wait(timeout=STEP_TIMEOUT)
        assert result["StatusCode"] == 0, c.logs(tail=10)
    # on-failure: a chat that ended normally is not restarted.
    time.sleep(2)
    for c in (client, server):
        c.reload()
        assert c.status == "exited"
