"""A deliberately broken new version is rolled back by the stacks role while the old one
keeps answering."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator

import docker
import pytest
import requests
from e2e_lab import Lab

from tests.harness.docker_images import build_from_dockerfile
from tests.harness.registry import USER

pytestmark = pytest.mark.e2e


@pytest.fixture
def broken_frontend(lab: Lab, docker_client: docker.DockerClient) -> Iterator[str]:
    """frontend:<tag> in the test registry: the real image with a command that never
    listens, so its health check can only fail."""
    tag = f"broken-{secrets.token_hex(3)}"
    base = f"{lab.registry.address}/frontend:1.0"
    repository = f"{lab.registry.address}/frontend"
    build_from_dockerfile(
        docker_client,
        f'FROM {base}\nCMD ["python3", "-c", "import time; time.sleep(86400)"]\n',
        f"{repository}:{tag}",
    )
    auth = {"username": USER, "password": lab.registry.password}
    docker_client.images.push(repository, tag=tag, auth_config=auth)
    try:
        yield tag
    finally:
        docker_client.images.remove(f"{repository}:{tag}")


def test_broken_version_is_rolled_back_and_the_old_one_keeps_answering(
    lab: Lab, docker_client: docker.DockerClient, broken_frontend: str
) -> None:
    answers: list[int] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            try:
                answers.append(requests.get(lab.url("frontend"), timeout=2).status_code)
            except requests.RequestException:
                answers.append(0)
            stop.wait(0.2)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        result = lab.deploy(
            stacks_enabled=["frontend_backend"],
            stacks_image_tags={"frontend": broken_frontend},
            stacks_wait_timeout=60,
        )
    finally:
        stop.set()
        poller.join(timeout=10)

    assert result.returncode != 0, "the broken version passed the health gate"
    assert "stack frontend_backend failed its health gate" in result.stdout
    assert "service frontend: running, health unhealthy" in result.stdout
    assert "[exit 1]" in result.stdout  # the health log's lines are quoted
    # The previous version is back and serving.
    after = requests.get(lab.url("frontend"), timeout=10)
    assert after.status_code == 200 and "backend" in after.json()
    (frontend,) = docker_client.containers.list(
        filters={
            "label": [
                f"com.docker.compose.project={lab.project('frontend_backend')}",
                "com.docker.compose.service=frontend",
            ]
        }
    )
    assert frontend.attrs["Config"]["Image"] == f"{lab.registry.address}/frontend:1.0"
    assert "FRONTEND_TAG=1.0" in (lab.root / "frontend_backend" / ".env").read_text()
    # The candidate ran beside the serving version: the loop never missed an answer.
    assert answers and set(answers) == {200}, answers
