"""The course image is part of the lab: the images play (the session's `course_images`, as
`make site` runs it) pushes python-course:3.11 to the registry and names the same image on
the build host; inside it the course's packages import and `pip install` them without any
network, a package the course lacks fails at once, and a student's Dockerfile FROM it builds
with no network, as in a lab room."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

import docker
import docker.errors
import pytest
from docker.models.images import Image

from labdock.registry import RegistryClient
from tests.harness.docker_images import build_from_dockerfile
from tests.harness.playbooks import group_vars
from tests.harness.registry import ThrowawayRegistry, local_names

pytestmark = pytest.mark.e2e

COURSE = group_vars()["labdock_course_image"]
# What the course apps run on (backend, frontend, website, student_age; simple-api).
MODULES = ("flask", "waitress", "fastapi", "uvicorn", "psycopg")
# Not in any course app's requirements.
MISSING = "django"


@pytest.fixture(scope="module")
def course_ref(course_images: ThrowawayRegistry) -> str:
    """The course image as students name it in a room: `<registry>/python-course:3.11`."""
    return f"{course_images.address}/{COURSE['name']}:{COURSE['version']}"


@pytest.fixture(scope="module")
def local_image(course_images: ThrowawayRegistry, docker_client: docker.DockerClient) -> Image:
    """The build host's local name of the course image (moved under the test registry's
    address for the tests: `python-course:3.11` on a lab)."""
    return docker_client.images.get(local_names(course_images.address)[COURSE["name"]])


def run(client: docker.DockerClient, image: str, *command: str) -> tuple[int, str]:
    """Exit status and output of a command in a container with no network."""
    container = client.containers.create(image, list(command), network_mode="none")
    try:
        container.start()
        status = container.wait(timeout=120)["StatusCode"]
        return status, container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)


def test_the_registry_holds_the_build_hosts_course_image(
    course_images: ThrowawayRegistry, local_image: Image
) -> None:
    with RegistryClient(course_images.settings) as registry:
        digest = registry.manifest_digest(COURSE["name"], COURSE["version"])
        assert registry.manifest_digest(COURSE["name"], "latest") == digest
    repository = f"{course_images.address}/{COURSE['name']}"
    assert f"{repository}@{digest}" in local_image.attrs["RepoDigests"]


def test_the_course_packages_import_without_network(
    docker_client: docker.DockerClient, local_image: Image
) -> None:
    status, output = run(
        docker_client, local_image.id, "python3", "-c", f"import {', '.join(MODULES)}"
    )
    assert status == 0, output


def test_pip_install_of_a_course_package_is_already_satisfied(
    docker_client: docker.DockerClient, local_image: Image
) -> None:
    status, output = run(docker_client, local_image.id, "python3", "-m", "pip", "install", "flask")
    assert status == 0, output
    assert "Requirement already satisfied: flask" in output


def test_a_package_the_course_lacks_fails_at_once(
    docker_client: docker.DockerClient, local_image: Image
) -> None:
    status, output = run(docker_client, local_image.id, "python3", "-m", "pip", "install", MISSING)
    assert status != 0
    assert f"No matching distribution found for {MISSING}" in output


@pytest.fixture
def student_tag(
    course_images: ThrowawayRegistry, docker_client: docker.DockerClient
) -> Iterator[str]:
    tag = f"{course_images.address}/student-build-{secrets.token_hex(3)}:1"
    try:
        yield tag
    finally:
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(tag)


def test_a_student_dockerfile_builds_from_it_without_network(
    docker_client: docker.DockerClient, course_ref: str, student_tag: str
) -> None:
    dockerfile = f"FROM {course_ref}\nRUN pip install flask waitress\n"
    build_from_dockerfile(docker_client, dockerfile, student_tag, network_mode="none")
    status, output = run(docker_client, student_tag, "python3", "-c", "import flask, waitress")
    assert status == 0, output
