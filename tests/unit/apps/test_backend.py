"""backend: JSON endpoints, and the crash-only policy that ends PID 1 on GET /traceback."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import NoReturn

import pytest
from backend.app import create_app
from backend.crash import EXIT_STATUS

BACKEND_DIR = Path(__file__).resolve().parents[3] / "apps/backend"


class ProcessExit(Exception):
    """Stands in for os._exit so the test process survives."""


def fake_exit(status: int) -> NoReturn:
    raise ProcessExit(status)


def test_index_and_healthcheck_answer_json() -> None:
    client = create_app(fake_exit).test_client()
    index = client.get("/")
    assert index.status_code == 200
    assert index.get_json()["service"] == "backend"
    assert client.get("/healthcheck").get_json() == {"status": "ok"}


def test_traceback_logs_the_error_and_exits_non_zero(caplog: pytest.LogCaptureFixture) -> None:
    client = create_app(fake_exit).test_client()
    with pytest.raises(ProcessExit) as exited:
        client.get("/traceback")
    assert exited.value.args == (EXIT_STATUS,)
    assert EXIT_STATUS != 0
    record = next(r for r in caplog.records if r.levelno == logging.CRITICAL)
    assert record.exc_info and "deliberate failure" in str(record.exc_info[1])


def test_unknown_route_is_a_plain_404_not_a_crash() -> None:
    assert create_app(fake_exit).test_client().get("/nope").status_code == 404


def test_traceback_ends_the_real_server_process(closed_port: int) -> None:
    """The image's own command: waitress in one process, killed by GET /traceback."""
    pytest.importorskip(
        "waitress", reason="waitress is only in the image (requirements-dev lacks it)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BACKEND_DIR), *sys.path])}
    command = [sys.executable, "-m", "waitress", "--host=127.0.0.1", f"--port={closed_port}"]
    server = subprocess.Popen(
        [*command, "--call", "backend.app:create_app"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        base = f"http://127.0.0.1:{closed_port}"
        deadline = time.monotonic() + 15
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthcheck", timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            urllib.request.urlopen(f"{base}/traceback", timeout=5)
        assert server.wait(timeout=10) == EXIT_STATUS
        assert "deliberate failure" in server.stderr.read()
    finally:
        server.kill()
        server.wait()
