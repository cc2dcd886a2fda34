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
APPS = Path(__file__).resolve().parents[2] / "apps"
# The course's packages: every course app's pinned closure (Flask, FastAPI, psycopg...), read
# from the apps' own requirements files; the token service is the lab's, not the course's.
COURSE_APPS = ("backend", "frontend", "website", "simple-api", "student_age")
TAG = "python-course:3.11"


def course_requirements() -> str:
    lines: list[str] = []
    for app in COURSE_APPS:
        for line in (APPS / app / "requirements.txt").read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line and line not in lines:
                lines.append(line)
    return "\n".join(lines) + "\n"


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
        requirements = context / "requirements.txt"
        requirements.write_text(course_requirements(), encoding="utf-8")
        download = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:"]
        subprocess.run(
            [*download, "-r", str(requirements), "-d", str(context / "wheels")], check=True
        )
        client.images.build(path=str(context), tag=TAG, rm=True, pull=False)
    try:
        yield TAG
    finally:
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(TAG)
