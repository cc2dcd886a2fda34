"""The --disruptive checks: crash the app and time Docker bringing it back healthy; recreate
the container and check that what was written in its volumes survived."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Callable

import docker
import requests

from labdock.stackcheck.discovery import PROJECT_LABEL, SERVICE_LABEL, Service
from labdock.stackcheck.endpoints import Outcome, container_address

# Apps with a /traceback endpoint crash themselves through it (SPEC.md, system 1).
TRACEBACK_APPS = {"backend": 5000, "frontend": 5000}
RECOVERY_TIMEOUT = 120.0
POLL_INTERVAL = 0.2
WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"
CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"


def can_crash(service: Service) -> bool:
    """Only services Docker is meant to bring back, with a health check to see it; the
    interactive chat programs wait for a person and are left alone."""
    attrs = service.container.attrs
    policy = (attrs["HostConfig"].get("RestartPolicy") or {}).get("Name") or "no"
    has_health = bool((attrs["State"].get("Health") or {}).get("Status"))
    return policy != "no" and has_health and not attrs["Config"].get("Tty")


def _crash(service: Service) -> str:
    port = TRACEBACK_APPS.get(service.image_name)
    if port is not None:
        url = f"http://{container_address(service.container)}:{port}/traceback"
        # The app dying mid-answer is the point: no answer is expected.
        with contextlib.suppress(requests.RequestException):
            requests.get(url, timeout=5)
        return "GET /traceback"
    # Signals sent inside the container cannot kill its PID 1 (the kernel shields a
    # namespace's init from them), so the host kills the app's process.
    os.kill(service.container.attrs["State"]["Pid"], signal.SIGKILL)
    return "SIGKILL to PID 1"


def _wait_for(condition: Callable[[], bool], timeout: float) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if condition():
            return time.monotonic() - start
        time.sleep(POLL_INTERVAL)
    return None


def check_crash_recovery(service: Service, timeout: float = RECOVERY_TIMEOUT) -> Outcome:
    container = service.container
    container.reload()
    before = (container.attrs["RestartCount"], container.attrs["State"]["StartedAt"])
    how = _crash(service)
    start = time.monotonic()

    def restarted() -> bool:
        container.reload()
        now = (container.attrs["RestartCount"], container.attrs["State"]["StartedAt"])
        return now != before and container.attrs["State"]["Status"] == "running"

    def healthy() -> bool:
        container.reload()
        return (container.attrs["State"].get("Health") or {}).get("Status") == "healthy"

    if _wait_for(restarted, timeout) is None:
        return False, f"{how}: not restarted by Docker within {timeout:.0f}s"
    restart_s = time.monotonic() - start
    if _wait_for(healthy, timeout) is None:
        return False, f"{how}: restarted after {restart_s:.1f}s, not healthy within {timeout:.0f}s"
    return (
        True,
        f"{how}: restarted after {restart_s:.1f}s, healthy after {time.monotonic() - start:.1f}s",
    )


def volume_mounts(service: Service) -> list[str]:
    return [m["Destination"] for m in service.container.attrs["Mounts"] if m["Type"] == "volume"]


def _recreate(service: Service, timeout: float) -> None:
    labels = service.container.labels
    files = [arg for f in labels[CONFIG_FILES_LABEL].split(",") for arg in ("-f", f)]
    command = [
        "docker", "compose", "--project-directory", labels[WORKING_DIR_LABEL], *files,
        "-p", labels[PROJECT_LABEL], "up", "-d", "--force-recreate", "--no-deps",
        "--wait", "--wait-timeout", str(int(timeout)), labels[SERVICE_LABEL],
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout + 30)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1] if result.stderr else "failed")


def check_volume_survives_recreate(
    client: docker.DockerClient, service: Service, timeout: float = RECOVERY_TIMEOUT
) -> Outcome:
    mounts = volume_mounts(service)
    sentinel = f".labdock-verify-{secrets.token_hex(6)}"
    paths = [f"{mount}/{sentinel}" for mount in mounts]
    for path in paths:
        code, out = service.container.exec_run(["touch", path], user="0")
        if code != 0:
            return False, f"cannot write {path}: {out.decode(errors='replace').strip()}"
    old_id = service.container.id
    try:
        _recreate(service, timeout)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        return False, f"recreating the container failed: {exc}"
    labels = service.container.labels
    new = client.containers.list(
        filters={
            "label": [
                f"{PROJECT_LABEL}={labels[PROJECT_LABEL]}",
                f"{SERVICE_LABEL}={labels[SERVICE_LABEL]}",
            ]
        }
    )
    if not new or new[0].id == old_id:
        return False, "no new container after the recreate"
    missing = [p for p in paths if new[0].exec_run(["test", "-e", p])[0] != 0]
    for path in paths:
        new[0].exec_run(["rm", "-f", path], user="0")
    if missing:
        return False, f"lost after the recreate: {', '.join(missing)}"
    return True, f"sentinel survived a new container in {', '.join(mounts)}"
