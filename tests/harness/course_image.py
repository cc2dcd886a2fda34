"""The course image student builds start FROM (`python-course:3.11`): labdock/python-build
with the course apps' pinned packages installed from a wheelhouse the host downloads, since
build containers cannot reach PyPI. Recipe: tests/harness/python-course/Dockerfile."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors

RECIPE = Path(__file__).with_name("python-course") / "Dockerfile"
# The course's packages: the Flask apps' pinned closure (one list, the apps' own).
REQUIREMENTS = Path(__file__).resolve().parents[2] / "apps" / "backend" / "requirements.txt"
TAG = "python-course:3.11"


@contextlib.contextmanager
def course_image(client: docker.DockerClient) -> Iterator[str]:
    """The course image, built if absent and then removed again; an existing one is left."""
    try:
        client.images.get(TAG)
    except docker.errors.ImageNotFound:
        pass
    else:
        yield TAG
        return
    with tempfile.TemporaryDirectory(prefix="labdock-course-image-") as tmp:
        context = Path(tmp)
        shutil.copyfile(RECIPE, context / "Dockerfile")
        shutil.copyfile(REQUIREMENTS, context / "requirements.txt")
        download = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:"]
        subprocess.run(
            [*download, "-r", str(REQUIREMENTS), "-d", str(context / "wheels")], check=True
        )
        client.images.build(path=str(context), tag=TAG, rm=True, pull=False)
    try:
        yield TAG
    finally:
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(TAG)
