"""`labdock grade` on hand-ins given as git URLs, against a real `git daemon` on a loopback
port: a prepared hand-in cloned and graded as the teacher expects, and every refusal (helper
transports, a path outside the roots, a clone too big, a missing repository, a server that
never answers) one line, exit 2, nothing left behind."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.conftest import LABDOCK
from tests.harness import grading
from tests.harness.course_image import course_image

pytestmark = pytest.mark.integration

PREPARED = grading.SUBMISSIONS_DIR / "002" / "perfect"
CLONES = "labdock-grade-clones-*"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """git:// base URL and the folder it serves; the daemon is ended by its own id."""
    base = tmp_path_factory.mktemp("served")
    port = _free_port()
    daemon = subprocess.Popen(
        [
            "git",
            "daemon",
            "--export-all",
            "--informative-errors",
            f"--base-path={base}",
            f"--port={port}",
            "--listen=127.0.0.1",
            "--reuseaddr",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert daemon.poll() is None and time.monotonic() < deadline, "git daemon did not start"
            time.sleep(0.1)
        yield f"git://127.0.0.1:{port}", base
    finally:
        daemon.kill()
        daemon.wait(timeout=10)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The CLI's environment: its own TMPDIR (to see that clones are removed) and no lab
    settings read from this machine (grid 002 asks no registry)."""
    (tmp_path / "tmp").mkdir()
    (tmp_path / "client.json").write_text("{}")
    return {
        **os.environ,
        "TMPDIR": str(tmp_path / "tmp"),
        "LABDOCK_CONFIG": str(tmp_path / "client.json"),
        "LABDOCK_REGISTRY_URL": "https://127.0.0.1:9",
    }


def _publish(source: Path, served_base: Path, name: str, work: Path) -> None:
    """`source` committed as a student would and served as `<name>.git`."""
    handed_in = grading.hand_in(source, work, name)
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(handed_in), str(served_base / f"{name}.git")],
        check=True,
    )


def _grade(*arguments: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LABDOCK), "grade", "002", *arguments],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _refused(result: subprocess.CompletedProcess[str], reason: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert reason in result.stderr


def test_a_served_hand_in_gets_the_teachers_score(
    served: tuple[str, Path],
    docker_client: docker.DockerClient,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    url, base = served
    _publish(PREPARED, base, "perfect", tmp_path / "student")
    with course_image(docker_client):
        result = _grade(f"{url}/perfect.git", "--json", env=env, cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    (student,) = json.loads(result.stdout)["students"]
    assert student["student"] == "perfect"
    assert student["earned"] == grading.expected(PREPARED)["total"]
    assert not list((tmp_path / "tmp").glob(CLONES))


def test_a_transport_helper_runs_nothing(env: dict[str, str], tmp_path: Path) -> None:
    marker = tmp_path / f"owned-{secrets.token_hex(4)}"
    result = _grade(f"ext::sh -c touch% {marker}", env=env, cwd=tmp_path)
    _refused(result, "transport-helper syntax")
    assert not marker.exists()


def test_a_local_repository_outside_the_roots_is_refused(
    env: dict[str, str], tmp_path: Path
) -> None:
    repository = tmp_path / "elsewhere" / "alice.git"
    subprocess.run(["git", "init", "-q", "--bare", str(repository)], check=True)
    (tmp_path / "class").mkdir()
    result = _grade(
        str(repository), "--clone-root", str(tmp_path / "class"), env=env, cwd=tmp_path / "class"
    )
    _refused(result, "outside the clone roots")


def test_a_clone_over_the_size_limit_is_stopped_and_removed(
    served: tuple[str, Path], env: dict[str, str], tmp_path: Path
) -> None:
    url, base = served
    big = tmp_path / "big"
    big.mkdir()
    # Random bytes: git's compression cannot bring them under the limit.
    (big / "blob.bin").write_bytes(os.urandom(3 * 2**20))
    (big / "expected.yml").write_text("total: 0\n")
    _publish(big, base, "big", tmp_path / "student")
    result = _grade(f"{url}/big.git", "--clone-max-mb", "1", env=env, cwd=tmp_path)
    _refused(result, "over 1 MB")
    assert not list((tmp_path / "tmp").glob(CLONES))


def test_a_missing_repository_is_refused_before_any_clone(
    served: tuple[str, Path], env: dict[str, str], tmp_path: Path
) -> None:
    url, base = served
    _publish(PREPARED, base, "present", tmp_path / "student")
    result = _grade(f"{url}/present.git", f"{url}/nobody.git", env=env, cwd=tmp_path)
    _refused(result, "nobody.git")
    # The present repository was probed, not cloned: no clone folder was ever made.
    assert not list((tmp_path / "tmp").iterdir())


def test_a_silent_server_is_stopped_at_the_clone_timeout(
    env: dict[str, str], tmp_path: Path
) -> None:
    with socket.socket() as silent:
        # The kernel accepts connections into the backlog; nothing ever answers.
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        started = time.monotonic()
        result = _grade(
            f"git://127.0.0.1:{port}/alice.git", "--clone-timeout", "2", env=env, cwd=tmp_path
        )
        elapsed = time.monotonic() - started
    _refused(result, "not done within 2 s")
    assert elapsed < 15
    # The whole process group was killed: no git is left talking to that port.
    left = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    assert f"127.0.0.1:{port}/" not in left.stdout
