"""Socket chat through attached terminals: Hello both ways, then `bye` ends both containers.
Runs after the other flows (it ends the chat stack's containers)."""

from __future__ import annotations

import json
import time

import docker
import pytest
from docker.models.containers import Container

from labdock.grade.chat import type_line
from tests.harness.playbooks import play_report

from .e2e_lab import Lab

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


def test_ended_chat_is_not_a_failure_and_labdock_demo_starts_it_again(
    lab: Lab, docker_client: docker.DockerClient
) -> None:
    """After `bye` (the test above): the play goes on and says how to restart, verify calls
    the chat ended rather than unhealthy, and `labdock demo` brings it back to chat again."""
    result = lab.deploy(stacks_enabled=["socket_chat", "website"])
    assert result.returncode == 0, play_report(result)
    assert "socket_chat ended as designed" in result.stdout
    assert "labdock demo socket_chat" in result.stdout

    verify = lab.labdock("verify", "socket_chat", "--project-prefix", lab.prefix, "--json")
    health = [c for c in json.loads(verify.stdout)["checks"] if c["name"].endswith(" healthy")]
    assert verify.returncode == 0, verify.stdout
    assert len(health) == 2 and all(c["detail"].startswith("ended (exit 0)") for c in health)

    demo = lab.labdock("demo", "socket_chat", "--project-prefix", lab.prefix)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    server = chat_container(docker_client, lab, "socket_server")
    client = chat_container(docker_client, lab, "socket_client")
    for c in (server, client):
        assert f"docker attach {c.name}" in demo.stdout
    type_line(client, "Hello again")
    wait_for_output(server, "from connected user: Hello again")
