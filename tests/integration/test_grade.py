"""`labdock grade` on prepared submissions (tests/data/grade): real builds, real compose runs,
real attached terminals and a real registry holding what each student pushed. The grade must
agree, criterion by criterion, with the teacher's expected.yml beside each submission."""

from __future__ import annotations

import csv
import json
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from labdock.grade.sandbox import RUN_LABEL, STUDENT_LABEL
from tests.conftest import LABDOCK
from tests.harness import grading
from tests.harness.course_image import course_image
from tests.harness.registry import ThrowawayRegistry

pytestmark = pytest.mark.integration

# Graded in two waves of grids at once (most of a grade is waiting): 000 and 002 first in
# the first wave, so their grading overlaps the pushes of 001's images; then the two grids
# that run a database or a web server per submission from the student's compose file.
WAVES = (("000", "002", "001"), ("003", "004"))
GRIDS = tuple(grid for wave in WAVES for grid in wave)
STUDENTS = [(grid, folder.name) for grid in GRIDS for folder in grading.prepared(grid)]


@pytest.fixture(scope="module")
def class_run(
    registry: ThrowawayRegistry,
    docker_client: docker.DockerClient,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Any]]:
    """Every prepared submission of each grid handed in and pushed, then graded in one
    `labdock grade` per grid (several at a time); the parsed JSON, CSV and feedback files."""
    # The Python apps build FROM the lab's course image (packages preinstalled: offline).
    graded: dict[str, Any] = {}
    with course_image(docker_client):
        for wave in WAVES:
            started = [
                _start_grading(grid_name, registry, docker_client, tmp_path_factory)
                for grid_name in wave
            ]
            graded.update(
                {grid_name: _graded(*run) for grid_name, run in zip(wave, started, strict=True)}
            )
    yield graded


def _start_grading(
    grid_name: str,
    registry: ThrowawayRegistry,
    docker_client: docker.DockerClient,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.Popen[str], Path, Path]:
    work = tmp_path_factory.mktemp(f"grade-{grid_name}")
    contexts = grading.pushed_contexts(grading.grid(grid_name))
    folders = []
    for source in grading.prepared(grid_name):
        folder = grading.hand_in(source, work / "class")
        push = grading.expected(source).get("push") or {}
        grading.push_images(docker_client, registry, folder, push, contexts)
        folders.append(folder)
    csv_path = work / "class.csv"
    feedback = work / "feedback"
    process = subprocess.Popen(
        [
            str(LABDOCK),
            "grade",
            grid_name,
            *map(str, folders),
            "--jobs",
            "4",
            "--json",
            "--csv",
            str(csv_path),
            "--feedback-dir",
            str(feedback),
            # The prepared submissions push under students/<name>/ (grading.push_images).
            "--namespace",
            "students/{name}",
        ],
        env=registry.cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process, csv_path, feedback


def _graded(process: subprocess.Popen[str], csv_path: Path, feedback: Path) -> dict[str, Any]:
    try:
        stdout, stderr = process.communicate(timeout=900)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode in (0, 1), f"{stderr}\n{_faults(stdout)}"
    document = json.loads(stdout)
    return {
        "document": document,
        "students": {s["student"]: s for s in document["students"]},
        "csv": list(csv.DictReader(csv_path.open(encoding="utf-8"))),
        "feedback": feedback,
    }


def _faults(stdout: str) -> str:
    """The evidence and traceback of each criterion the grader could not grade: what CI
    shows of a fault, which the one-line summary on stderr cannot explain."""
    try:
        document = json.loads(stdout)
    except ValueError:
        return stdout[-4000:]
    return "\n".join(
        f"{student['student']} {criterion['id']}: {criterion['evidence']}\n"
        f"{criterion.get('traceback', '')}"
        for student in document.get("students", [])
        for criterion in student.get("criteria", [])
        if criterion.get("traceback")
    )


@pytest.mark.parametrize(("grid_name", "student"), STUDENTS)
def test_grade_agrees_with_the_teacher(
    class_run: dict[str, Any], grid_name: str, student: str
) -> None:
    wanted = grading.expected(grading.SUBMISSIONS_DIR / grid_name / student)
    graded = class_run[grid_name]["students"][student]
    lost = wanted.get("lost") or {}
    disagreements = [
        f"{c['id']}: graded {c['earned']}/{c['possible']}, teacher "
        f"{0 if c['id'] in lost else c['possible']} ({c['evidence']})"
        for c in graded["criteria"]
        if c["earned"] != (0 if c["id"] in lost else c["possible"])
    ]
    assert not disagreements, "\n".join(disagreements)
    assert graded["earned"] == wanted["total"]
    unknown = set(lost) - {c["id"] for c in graded["criteria"]}
    assert not unknown, f"expected.yml names criteria the grid lacks: {unknown}"


@pytest.mark.parametrize("grid_name", GRIDS)
def test_every_lost_point_has_a_reason(class_run: dict[str, Any], grid_name: str) -> None:
    for student in class_run[grid_name]["students"].values():
        for criterion in student["criteria"]:
            if criterion["earned"] < criterion["possible"]:
                assert criterion["evidence"].strip(), (student["student"], criterion["id"])


@pytest.mark.parametrize("grid_name", GRIDS)
def test_csv_and_feedback_cover_the_class(class_run: dict[str, Any], grid_name: str) -> None:
    run = class_run[grid_name]
    grid = grading.grid(grid_name)
    rows = {row["student"]: row for row in run["csv"]}
    assert set(rows) == set(run["students"])
    for name, student in run["students"].items():
        row = rows[name]
        assert int(row["total"]) == student["earned"]
        for criterion in student["criteria"]:
            assert int(row[criterion["id"]]) == criterion["earned"]
        assert list(row) == ["student", *(c.id for c in grid.criteria), "total"]
        page = (run["feedback"] / f"{name}.md").read_text(encoding="utf-8")
        assert f"**{student['earned']} / {student['possible']}**" in page


@pytest.mark.parametrize("grid_name", GRIDS)
def test_nothing_of_the_run_is_left(
    class_run: dict[str, Any], grid_name: str, docker_client: docker.DockerClient
) -> None:
    run_id = class_run[grid_name]["document"]["run"]
    selector = {"label": f"{RUN_LABEL}={run_id}"}
    assert docker_client.containers.list(all=True, filters=selector) == []
    assert docker_client.networks.list(filters=selector) == []
    assert docker_client.volumes.list(filters=selector) == []
    assert docker_client.images.list(filters={"reference": f"grade-{run_id}-*/*"}) == []


def test_sigterm_mid_run_removes_what_it_started(
    registry: ThrowawayRegistry, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    name = f"sigterm-{secrets.token_hex(3)}"
    folder = grading.hand_in(grading.SUBMISSIONS_DIR / "001" / "bye-keeps-server", tmp_path, name)
    process = subprocess.Popen(
        [str(LABDOCK), "grade", "001", str(folder), "--json"],
        env=registry.cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        started: list[Any] = []
        while not started and time.monotonic() < deadline and process.poll() is None:
            started = docker_client.containers.list(
                filters={"label": f"{STUDENT_LABEL}={name}", "status": "running"}
            )
            time.sleep(0.2)
        assert started, "grade never started a container"
        run_id = started[0].labels[RUN_LABEL]
        os.kill(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    selector = {"label": f"{RUN_LABEL}={run_id}"}
    assert docker_client.containers.list(all=True, filters=selector) == []
    assert docker_client.networks.list(filters=selector) == []
    assert docker_client.images.list(filters={"reference": f"grade-{run_id}-*/*"}) == []
