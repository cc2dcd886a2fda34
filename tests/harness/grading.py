"""Prepared submissions for `labdock grade` (tests/data/grade/<grid>/<student>/): hand them
in as a student would (a git clone, images pushed under students/<name>/ in the registry)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import docker
import docker.errors
import yaml

from labdock.grade.checks import CHECKS
from labdock.grade.grids import Grid, load
from tests.harness.registry import USER, ThrowawayRegistry

REPO_ROOT = Path(__file__).resolve().parents[2]
SUBMISSIONS_DIR = REPO_ROOT / "tests" / "data" / "grade"
EXPECTED_FILE = "expected.yml"


def prepared(grid: str) -> list[Path]:
    return sorted(p.parent for p in (SUBMISSIONS_DIR / grid).glob(f"*/{EXPECTED_FILE}"))


def expected(folder: Path) -> dict[str, Any]:
    return yaml.safe_load((folder / EXPECTED_FILE).read_text(encoding="utf-8"))


def grid(name: str) -> Grid:
    return load(name, CHECKS)


def pushed_contexts(graded: Grid) -> dict[str, str]:
    """Repository (the course's name) -> the folder its image is built from, as the grid's
    own criteria say."""
    return {
        _course_name(c.params["repository"]): c.params["context"]
        for c in graded.criteria
        if "repository" in c.params and "context" in c.params
    }


def _course_name(names: str | list[str]) -> str:
    return names if isinstance(names, str) else names[0]


def hand_in(source: Path, destination: Path, name: str | None = None) -> Path:
    """The student's clone: the folder without the teacher's file, committed to git. `name`
    renames the student (the hub_url labels follow)."""
    name = name or source.name
    target = destination / name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(EXPECTED_FILE))
    if name != source.name:
        for path in target.rglob("*"):
            if path.is_file():
                text = path.read_text(encoding="utf-8")
                path.write_text(text.replace(f"students/{source.name}/", f"students/{name}/"))
    git = ["git", "-C", str(target), "-c", "user.name=student", "-c", "user.email=s@lab.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "hand-in"], check=True)
    return target


def push_images(
    client: docker.DockerClient,
    registry: ThrowawayRegistry,
    folder: Path,
    push: Mapping[str, list[str]],
    contexts: Mapping[str, str],
) -> None:
    """Build each image from the student's folder and push it with the given tags, as the
    student did; local tags are dropped afterwards."""
    auth = {"username": USER, "password": registry.password}
    for repository, tags in push.items():
        reference = f"{registry.address}/students/{folder.name}/{repository}"
        image, _ = client.images.build(
            path=str(folder / contexts[repository]), tag=f"{reference}:{tags[0]}", rm=True
        )
        try:
            for tag in tags:
                image.tag(reference, tag)
                for line in client.images.push(
                    reference, tag, auth_config=auth, stream=True, decode=True
                ):
                    if "error" in line:
                        raise RuntimeError(f"push {reference}:{tag}: {line['error']}")
        finally:
            for tag in tags:
                with contextlib.suppress(docker.errors.ImageNotFound):
                    client.images.remove(f"{reference}:{tag}")
