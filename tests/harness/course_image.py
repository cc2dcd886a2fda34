"""The course image student builds start FROM (`python-course:3.11` on a lab's build host,
where the images role names it so): labdock/python-build with the course apps' pinned
packages installed from a wheelhouse the host downloads, since build containers cannot reach
PyPI. Built from the role's own recipe, apps/python-course/, and its group_vars entry
(`labdock_course_image`), never from a copy."""

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

from tests.harness.playbooks import REPO_ROOT, group_vars

COURSE: dict = group_vars()["labdock_course_image"]
RECIPE = REPO_ROOT / "apps" / COURSE["context"]
# The name student Dockerfiles (and tests/data/grade hand-ins) say in FROM.
TAG = f"{COURSE['name']}:{COURSE['version']}"


@contextlib.contextmanager
def course_image(client: docker.DockerClient) -> Iterator[str]:
    """The course image, built if absent and then removed again; an existing one (a lab's,
    made by `make site`) is used and left."""
    try:
        client.images.get(TAG)
    except docker.errors.ImageNotFound:
        pass
    else:
        yield TAG
        return
    # A context of the recipe's Dockerfile and a fresh wheelhouse, outside the repository so
    # the role's own wheelhouse (apps/python-course/wheels, stamped) is left as it is. pip
    # reads the recipe's `-r ../<app>/requirements.txt` lines from the recipe's folder.
    with tempfile.TemporaryDirectory(prefix="labdock-course-image-") as tmp:
        context = Path(tmp)
        for name in ("Dockerfile", ".dockerignore", "requirements.txt"):
            shutil.copyfile(RECIPE / name, context / name)
        download = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:"]
        subprocess.run(
            [*download, "-r", str(RECIPE / "requirements.txt"), "-d", str(context / "wheels")],
            cwd=RECIPE,
            check=True,
        )
        client.images.build(path=str(context), tag=TAG, rm=True, pull=False)
    try:
        yield TAG
    finally:
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(TAG)
