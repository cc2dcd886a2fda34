"""Recovery after `GET /traceback`: seconds from the request to `healthy` again, for the
frontend and the backend, under the health check of before issue 9 and under the one
compose/frontend_backend/compose.yaml sets now, in the same run.

Starts its own throwaway registry, builds and pushes the frontend and backend images with the
images role (playbooks/images.yml, only those two apps), then runs one container per app and
per timing from those images, under its own names and free loopback ports, with the
restart policy of the compose file. Each trial waits until the container has run for more
than 10 s (Docker doubles its restart delay for a container that ran less), requests
/traceback (the app ends PID 1), then polls the engine until the container is healthy again;
it also notes when the app first answers on its port, the floor any health check can reach.
The probe's cost: the container's CPU time (cgroup) over a series of probes run as the
engine runs them, times the probes per minute (the engine's own exec overhead comes on top,
the same per probe for both). Prints median and max; asserts nothing. Cleans up what it
started.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import requests
import yaml

from tests.harness.docker_images import untag_under
from tests.harness.playbooks import run_playbook
from tests.harness.registry import ThrowawayRegistry, free_loopback_port

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
COMPOSE_FILE = REPO_ROOT / "compose" / "frontend_backend" / "compose.yaml"
APPS = ("frontend", "backend")
# The compose file's health check before issue 9 (git show 7e2b53c:compose/frontend_backend/
# compose.yaml): the figures the issue reported (median 6.4-6.5 s) were measured with it.
BEFORE = {
    "test": [
        "CMD",
        "python3",
        "-c",
        "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/healthcheck', "
        "timeout=2)",
    ],
    "interval": "5s",
    "timeout": "3s",
    "retries": 3,
    "start_period": "20s",
}
PROBE_SAMPLES = 10
# Docker's restart manager doubles the delay when a container ran less than this long.
RESTART_BACKOFF_RESET_S = 10.5
POLL_S = 0.1
TRIAL_LIMIT_S = 60.0


def seconds(duration: str) -> float:
    """A compose duration (`5s`, `1m30s`, `500ms`) in seconds."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"([0-9.]+)(ms|us|h|m|s)", duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"not a compose duration: {duration!r}")
    return sum(float(number) * units[unit] for number, unit in parts)


def compose_healthcheck() -> dict[str, Any]:
    """The frontend's health check as the deployed compose file defines it."""
    compose = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return compose["services"]["frontend"]["healthcheck"]


def engine_healthcheck(timing: dict[str, Any]) -> dict[str, Any]:
    """The Docker API's healthcheck config for a compose healthcheck."""
    return {
        "test": timing["test"],
        "interval": int(seconds(timing["interval"]) * 1e9),
        "timeout": int(seconds(timing["timeout"]) * 1e9),
        "retries": int(timing["retries"]),
        "start_period": int(seconds(timing["start_period"]) * 1e9),
    }


@dataclass
class Subject:
    """One container: an app under one health check timing, and its trials."""

    app: str
    timing_name: str
    timing: dict[str, Any]
    image: str
    port: int = field(default_factory=free_loopback_port)
    name: str = ""
    recovery_s: list[float] = field(default_factory=list)
    answering_s: list[float] = field(default_factory=list)
    probe_cpu_s: float = 0.0
    error: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def probes_per_minute(self) -> float:
        return 60 / seconds(self.timing["interval"])


def _build_images(lab: ThrowawayRegistry, state: Path) -> None:
    """The images role, as `make site` runs it, for the two apps only, into the bench registry."""
    defaults = yaml.safe_load(
        (REPO_ROOT / "roles" / "images" / "defaults" / "main.yml").read_text(encoding="utf-8")
    )
    extra = {
        **lab.images_play_vars(state),
        "images_apps": [app for app in defaults["images_apps"] if app["name"] in APPS],
    }
    result = run_playbook("playbooks/images.yml", extra)
    if result.returncode != 0:
        raise RuntimeError(f"images play failed:\n{result.stdout[-3000:]}{result.stderr[-1000:]}")


def _state(client: docker.DockerClient, name: str) -> dict[str, Any]:
    return client.api.inspect_container(name)["State"]


def _wait(client: docker.DockerClient, subject: Subject, restarts: int) -> tuple[float, float]:
    """Poll until the container restarted `restarts` times and is healthy; return when the
    app first answered and when it became healthy (monotonic)."""
    deadline = time.monotonic() + TRIAL_LIMIT_S
    answered = 0.0
    while time.monotonic() < deadline:
        if not answered:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{subject.url}/healthcheck", timeout=1).ok:
                    answered = time.monotonic()
        inspected = client.api.inspect_container(subject.name)
        health = inspected["State"].get("Health", {}).get("Status")
        if inspected["RestartCount"] >= restarts and health == "healthy":
            return answered or time.monotonic(), time.monotonic()
        time.sleep(POLL_S)
    raise TimeoutError(f"{subject.name} not healthy within {TRIAL_LIMIT_S:.0f} s")


def _trials(subject: Subject, trials: int) -> None:
    """Run in a thread: crash the app `trials` times, timing each recovery."""
    with contextlib.closing(docker.from_env()) as client:
        try:
            _, healthy_at = _wait(client, subject, 0)
            for trial in range(1, trials + 1):
                time.sleep(max(0.0, healthy_at + RESTART_BACKOFF_RESET_S - time.monotonic()))
                started = time.monotonic()
                # The app ends PID 1 without answering: a dropped connection is the success.
                with contextlib.suppress(requests.RequestException):
                    requests.get(f"{subject.url}/traceback", timeout=5)
                answered_at, healthy_at = _wait(client, subject, trial)
                subject.answering_s.append(answered_at - started)
                subject.recovery_s.append(healthy_at - started)
            subject.probe_cpu_s = _probe_time(client, subject)
        except Exception as error:  # reported in the table; the other subjects go on
            subject.error = str(error)


def _cpu_ns(container: Any) -> int:
    return container.stats(stream=False)["cpu_stats"]["cpu_usage"]["total_usage"]


def _probe_time(client: docker.DockerClient, subject: Subject) -> float:
    """CPU seconds of one health probe in the container's cgroup (a process start and one
    request; the idle app's own CPU over those seconds is included and negligible)."""
    container = client.containers.get(subject.name)
    before = _cpu_ns(container)
    for _ in range(PROBE_SAMPLES):
        container.exec_run(subject.timing["test"][1:])
    return (_cpu_ns(container) - before) / 1e9 / PROBE_SAMPLES


def _start(client: docker.DockerClient, subject: Subject, prefix: str) -> None:
    subject.name = f"{prefix}{subject.app}-{subject.timing_name}"
    client.containers.run(
        subject.image,
        name=subject.name,
        detach=True,
        healthcheck=engine_healthcheck(subject.timing),
        restart_policy={"Name": "unless-stopped"},
        ports={"5000/tcp": ("127.0.0.1", subject.port)},
        # The frontend needs a backend address to start; its health check does not call it.
        environment={"BACKEND_URL": "http://127.0.0.1:9/"},
        labels={"org.labdock.bench": "recovery"},
    )


def _report(subjects: list[Subject], trials: int) -> None:
    print(
        f"recovery after GET /traceback, {trials} trials per app and timing: seconds from the "
        "request to healthy (and to the app's first answer on its port)"
    )
    header = (
        f"{'app':<10}{'health check timing':<34}{'median':>8}{'max':>7}"
        f"{'answer med':>12}{'probes/min':>12}{'probe CPU ms':>14}{'CPU s/min':>11}"
    )
    print(header)
    for subject in subjects:
        timing = subject.timing
        label = (
            f"{subject.timing_name}: interval {timing['interval']}, start {timing['start_period']}"
        )
        if subject.error or not subject.recovery_s:
            print(f"{subject.app:<10}{label:<34}  failed: {subject.error}")
            continue
        print(
            f"{subject.app:<10}{label:<34}"
            f"{statistics.median(subject.recovery_s):>8.2f}{max(subject.recovery_s):>7.2f}"
            f"{statistics.median(subject.answering_s):>12.2f}"
            f"{subject.probes_per_minute:>12.0f}{subject.probe_cpu_s * 1000:>14.1f}"
            f"{subject.probes_per_minute * subject.probe_cpu_s:>11.2f}"
        )
    for name, timing in {s.timing_name: s.timing for s in subjects}.items():
        print(f"{name}: every {timing['interval']}: {' '.join(timing['test'][1:])}")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench recovery", description=__doc__)
    parser.add_argument("--trials", type=int, default=20, help="crashes per app and timing")
    args = parser.parse_args(argv)

    timings = {"before": BEFORE, "now": compose_healthcheck()}
    prefix = f"labdock-bench-{secrets.token_hex(3)}-recovery-"
    with (
        contextlib.closing(docker.from_env()) as client,
        tempfile.TemporaryDirectory(prefix="labdock-bench-") as workdir,
        ThrowawayRegistry(Path(workdir) / "registry", project_prefix="labdock-bench") as lab,
    ):
        subjects = [
            Subject(app, name, timing, f"{lab.address}/{app}:1.0")
            for app in APPS
            for name, timing in timings.items()
        ]
        try:
            _build_images(lab, Path(workdir))
            for subject in subjects:
                _start(client, subject, prefix)
            # All four at once: the same machine load for both timings.
            threads = [threading.Thread(target=_trials, args=(s, args.trials)) for s in subjects]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            for subject in subjects:
                if subject.name:
                    with contextlib.suppress(docker.errors.NotFound):
                        client.containers.get(subject.name).remove(force=True)
            untag_under(client, lab.address)
    _report(subjects, args.trials)
    return 1 if any(s.error for s in subjects) else 0
