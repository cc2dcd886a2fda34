"""End-to-end fixtures: the course images built by the images role and pushed to the
throwaway registry (tests/conftest.py), then the course stacks deployed by the stacks role
under their own project prefix (`labdock-e2e-*`), loopback ports and folders. The stacks are
removed once the last e2e test has run (package scope: their health checks would otherwise
load the machine for the rest of the suite), the images at the end. Never the deployment
`make site` made."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import docker
import pytest

from tests.harness.docker_images import untag_under
from tests.harness.playbooks import play_report
from tests.harness.registry import ThrowawayRegistry, free_loopback_port

from .e2e_lab import PORT_VARIABLES, Lab, run_playbook


@pytest.fixture(scope="session")
def course_images(
    registry: ThrowawayRegistry,
    docker_client: docker.DockerClient,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ThrowawayRegistry]:
    """The images role, as `make site` runs it, pointed at the test registry."""
    state = tmp_path_factory.mktemp("images-state")
    try:
        result = run_playbook("playbooks/images.yml", registry.images_play_vars(state))
        assert result.returncode == 0, play_report(result)
        yield registry
    finally:
        untag_under(docker_client, registry.address)


@pytest.fixture(scope="package")
def lab(
    course_images: ThrowawayRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Lab]:
    """Every course stack deployed once by the stacks role; each flow runs against it."""
    work = tmp_path_factory.mktemp("lab")
    deployment = Lab(
        registry=course_images,
        prefix=f"labdock-e2e-{secrets.token_hex(3)}-",
        root=work / "opt",
        secrets_dir=work / "secrets",
        ports={name: free_loopback_port() for name in PORT_VARIABLES},
    )
    try:
        result = deployment.deploy()
        assert result.returncode == 0, play_report(result)
        yield deployment
    finally:
        deployment.tear_down()
