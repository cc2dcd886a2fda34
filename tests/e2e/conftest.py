"""End-to-end fixtures: the course images built by the images role and pushed to the
throwaway registry (tests/conftest.py), then the course stacks deployed by the stacks role
under their own project prefix (`labdock-e2e-*`), loopback ports and folders; all removed at
the end. Never the deployment `make site` made."""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Iterator

import docker
import pytest
from e2e_lab import PORT_VARIABLES, Lab, run_playbook, untag_registry_images

from labdock.testing.registry import USER, ThrowawayRegistry, free_loopback_port


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def course_images(
    registry: ThrowawayRegistry,
    docker_client: docker.DockerClient,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ThrowawayRegistry]:
    """The images role, as `make site` runs it, pointed at the test registry."""
    state = tmp_path_factory.mktemp("images-state")
    client_json = state / "client.json"
    client_json.write_text(
        json.dumps(
            {
                "url": registry.url,
                "username": USER,
                "password": registry.password,
                "ca_cert": str(registry.certs.ca_cert),
            }
        ),
        encoding="utf-8",
    )
    client_json.chmod(0o600)
    try:
        result = run_playbook(
            "playbooks/images.yml",
            {
                "images_registry_address": registry.address,
                "images_registry_user": USER,
                "images_registry_password": registry.password,
                "images_catalog_file": str(state / "expected-catalog.json"),
                "images_play_client_config": str(client_json),
            },
        )
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        yield registry
    finally:
        # The role's docker_login wrote this registry into the engine user's config.
        subprocess.run(["docker", "logout", registry.address], capture_output=True, check=False)
        untag_registry_images(docker_client, registry.address)


@pytest.fixture(scope="session")
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
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        yield deployment
    finally:
        deployment.tear_down()
