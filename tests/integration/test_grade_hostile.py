"""Hostile hand-ins graded by `labdock grade 001`, each contained and then removed with nothing
left and the lab untouched. The server program (tests/data/grade-hostile/hostile.py) attacks
and ends with one line saying what it tried and what happened; the grader shows that line as
the exited container's evidence, which is how this test knows each attempt ran.

- net: asks for `network_mode: bridge` and connects to the test registry, its token service,
  a port a container of this test publishes on the Docker bridge's gateway, and a listener on
  another Docker network. A control run of the same image, uncontained, reaches the last two:
  the targets are live and only containment stops the hand-in.
- fork bomb, memory hog, disk filler, log flood: stopped by the pids, memory, read-only root
  / tmpfs and log-size limits.
- a build that never ends: stopped at the build timeout (lowered here to keep the test short).
- a build whose RUN step fills its layer (the program's layer attack, run by the Dockerfile):
  stopped by the layer watch past the disk limit, and the build fails saying so.
- on grid 003, whose roots are writable (a database, an Apache): a service filling its
  container layer, stopped by the layer watch past the disk limit, and one filling a named
  volume, which is a tmpfs of that size, after it tried to overwrite its own hand-in through
  a bind mount of its folder, which is mounted read-only.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
import secrets
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
import requests
import yaml
from docker.models.containers import Container

from labdock.grade.containment import Limits
from labdock.grade.grids import resolve
from labdock.grade.sandbox import RUN_LABEL, STUDENT_LABEL
from tests.conftest import LABDOCK
from tests.harness import grading
from tests.harness.registry import ThrowawayRegistry, free_loopback_port

pytestmark = pytest.mark.integration

HOSTILE = grading.REPO_ROOT / "tests" / "data" / "grade-hostile"
IMAGE = "labdock/python:latest"
LISTENER = ["python3", "-m", "http.server", "8000"]
# Long enough for the other hand-ins' one-file builds on a busy machine; the endless one
# waits this long before it is stopped.
BUILD_TIMEOUT = 30
ATTACKS = ("net", "fork", "mem", "disk", "flood")

COMPOSE = """\
services:
  socket_server:
    build: ./api-server
    environment: {{HOSTILE: {attack}, TARGETS: "{targets}"}}
    {network}
    stdin_open: true
    tty: true
  socket_client:
    build: ./api-client
    depends_on: [socket_server]
    stdin_open: true
    tty: true
"""
DOCKERFILE = """\
FROM {image}
WORKDIR /app
COPY {program} .
{run}
CMD ["python3", "{program}"]
"""
# Grid 003's roles, api and db: the api fills its container layer, the db a named volume.
WRITABLE_COMPOSE = """\
services:
  api:
    build: ./api
    environment: {HOSTILE: layer}
  db:
    build: ./db
    environment: {HOSTILE: volume}
    volumes: [db_data:/data, ./db:/handin]
volumes:
  db_data:
"""
# Grid 003 waits up to 60 s for the api's first answer; here 20 s: the layer watch has
# stopped the api by then (the next criterion shows why), and the hand-in takes under a
# minute.
READY_TIMEOUT = 20
DISK_MB = int(Limits().disk_size.removesuffix("m"))


@pytest.fixture(scope="module")
def targets(
    docker_client: docker.DockerClient, registry: ThrowawayRegistry
) -> Iterator[dict[str, Any]]:
    """NAME=HOST:PORT of everything the hostile hand-in must not reach, all on this machine:
    the registry and token service containers, a published port, another network's listener."""
    tag = secrets.token_hex(3)
    ipam = docker_client.networks.get("bridge").attrs["IPAM"]["Config"][0]
    # The engine leaves Gateway out when it is the subnet's first address (docker0's).
    gateway = ipam.get("Gateway") or str(ipaddress.ip_network(ipam["Subnet"])[1])
    published_port = free_loopback_port()
    started: list[Container] = []
    network = docker_client.networks.create(f"hostile-other-{tag}")
    try:
        listener = docker_client.containers.run(
            IMAGE, LISTENER, detach=True, name=f"hostile-listener-{tag}", network=network.name
        )
        started.append(listener)
        started.append(
            docker_client.containers.run(
                IMAGE,
                LISTENER,
                detach=True,
                name=f"hostile-published-{tag}",
                # On the bridge's gateway only: what a container on the default bridge reaches.
                ports={"8000/tcp": (gateway, published_port)},
            )
        )
        listener.reload()
        found = {
            "other-network": f"{_ip(listener)}:8000",
            "published": f"{gateway}:{published_port}",
        }
        lab = docker_client.containers.list(
            filters={"label": f"com.docker.compose.project={registry.project}"}
        )
        for container in lab:
            service = container.labels["com.docker.compose.service"]
            name = "token" if "token" in service else "registry" if "registry" in service else ""
            port = next(iter(container.attrs["NetworkSettings"]["Ports"] or {}), "")
            if name and port:
                found[name] = f"{_ip(container)}:{port.split('/')[0]}"
        assert {"registry", "token"} <= set(found), f"lab containers not found: {found}"
        yield {"targets": found, "network": network.name, "lab": lab, "started": started}
    finally:
        for container in started:
            container.remove(force=True)
        network.remove()


def _ip(container: Container) -> str:
    networks = container.attrs["NetworkSettings"]["Networks"]
    return next(n["IPAddress"] for n in networks.values() if n["IPAddress"])


# The RUN line of the hand-ins that attack at build time.
BUILD_ATTACKS = {
    "build-forever": "RUN echo {marker} && sleep 3600",
    "build-filler": "RUN echo {marker} && HOSTILE=layer python3 hostile.py",
}


def _hand_in(folder: Path, attack: str, targets: dict[str, str]) -> Path:
    (folder / "api-server").mkdir(parents=True)
    (folder / "api-client").mkdir()
    shutil.copy(HOSTILE / "hostile.py", folder / "api-server")
    (folder / "api-client" / "client.py").write_text("import time\ntime.sleep(3600)\n")
    (folder / "api-server" / "Dockerfile").write_text(
        DOCKERFILE.format(
            image=IMAGE,
            program="hostile.py",
            run=BUILD_ATTACKS.get(attack, "").format(marker=f"{folder.name}-marker"),
        )
    )
    (folder / "api-client" / "Dockerfile").write_text(
        DOCKERFILE.format(image=IMAGE, program="client.py", run="")
    )
    (folder / "docker-compose.yaml").write_text(
        COMPOSE.format(
            attack="net" if attack in BUILD_ATTACKS else attack,
            targets=",".join(f"{k}={v}" for k, v in targets.items()),
            network="network_mode: bridge" if attack == "net" else "",
        )
    )
    return folder


@pytest.fixture(scope="module")
def graded(
    targets: dict[str, Any],
    registry: ThrowawayRegistry,
    docker_client: docker.DockerClient,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("hostile")
    tag = secrets.token_hex(3)
    folders = [
        _hand_in(work / f"{attack}-{tag}", attack, targets["targets"])
        for attack in (*ATTACKS, *BUILD_ATTACKS)
    ]
    log_sizes: list[int] = []
    done = threading.Event()
    watcher = threading.Thread(
        target=_watch_log_size, args=(docker_client, f"flood-{tag}", log_sizes, done)
    )
    watcher.start()
    process = subprocess.Popen(
        [
            str(LABDOCK), "grade", "001", *map(str, folders), "--json",
            "--jobs", "3", "--step-timeout", "3", "--build-timeout", str(BUILD_TIMEOUT),
        ],
        env=registry.cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=900)
    finally:
        done.set()
        watcher.join()
        if process.poll() is None:
            # SIGTERM, not a kill: the grader removes what it started before it exits.
            process.terminate()
            process.communicate(timeout=300)
    # 1: points lost; never 2, which would mean a check broke on a hostile hand-in.
    assert process.returncode == 1, stderr
    document = json.loads(stdout)
    students = {s["student"].rsplit("-", 1)[0]: s for s in document["students"]}
    return {"students": students, "run": document["run"], "log_sizes": log_sizes, "tag": tag}


@pytest.fixture(scope="module")
def graded_writable(
    registry: ThrowawayRegistry, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("hostile-writable")
    folder = work / f"writable-{secrets.token_hex(3)}"
    for service in ("api", "db"):
        (folder / service).mkdir(parents=True)
        shutil.copy(HOSTILE / "hostile.py", folder / service)
        (folder / service / "Dockerfile").write_text(
            DOCKERFILE.format(image=IMAGE, program="hostile.py", run="")
        )
    (folder / "compose.yaml").write_text(WRITABLE_COMPOSE)
    grid = yaml.safe_load(resolve("003").read_text(encoding="utf-8"))
    grid["defaults"]["ready_timeout"] = READY_TIMEOUT
    grid_file = work / "003-shorter-wait.yml"
    grid_file.write_text(yaml.safe_dump(grid), encoding="utf-8")
    result = subprocess.run(
        [
            str(LABDOCK), "grade", str(grid_file), str(folder), "--json",
            "--step-timeout", "3", "--build-timeout", str(BUILD_TIMEOUT),
        ],
        env=registry.cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    return {"student": document["students"][0], "run": document["run"], "folder": folder}


def _watch_log_size(
    client: docker.DockerClient, student: str, sizes: list[int], done: threading.Event
) -> None:
    """The flooding container's log file on the engine's disk, read while it runs."""
    while not done.wait(0.2):
        try:
            containers = client.containers.list(
                all=True, filters={"label": f"{STUDENT_LABEL}={student}"}
            )
        except (docker.errors.DockerException, requests.exceptions.RequestException):
            continue  # A busy engine: look again at the next tick.
        for container in containers:
            path = Path(container.attrs.get("LogPath") or "/nonexistent")
            if container.labels.get("com.docker.compose.service") == "socket_server":
                with contextlib.suppress(OSError):
                    sizes.append(path.stat().st_size)


def _said(student: dict[str, Any], marker: str) -> str:
    """The hostile program's own last line, from whichever criterion shows it."""
    for criterion in student["criteria"]:
        found = re.search(rf"{marker} [^;|]*", criterion["evidence"])
        if found:
            return found.group(0)
    raise AssertionError(f"no {marker} line in {json.dumps(student['criteria'], indent=1)}")


def test_no_route_out_of_the_project(graded: dict[str, Any], targets: dict[str, Any]) -> None:
    said = _said(graded["students"]["net"], "NET")
    tried = dict(pair.split("=") for pair in said.removeprefix("NET ").split())
    assert set(tried) == set(targets["targets"]), said
    assert "connected" not in tried.values(), said


def test_the_targets_are_reachable_without_containment(
    docker_client: docker.DockerClient, targets: dict[str, Any]
) -> None:
    """The control: the same program, uncontained on the listener's network, connects to the
    listener and the published port; so the hand-in's failures are containment's doing."""
    wanted = {k: targets["targets"][k] for k in ("other-network", "published")}
    output = docker_client.containers.run(
        IMAGE,
        ["python3", "-c", (HOSTILE / "hostile.py").read_text()],
        environment={"HOSTILE": "net", "TARGETS": ",".join(f"{k}={v}" for k, v in wanted.items())},
        network=targets["network"],
        remove=True,
    ).decode()
    assert output.split() == ["NET", "other-network=connected", "published=connected"], output


def test_a_fork_bomb_stops_at_the_pids_limit(graded: dict[str, Any]) -> None:
    said = _said(graded["students"]["fork"], "FORK")
    children = int(said.split()[2])
    assert 0 < children < Limits().pids, said
    assert said.endswith("then BlockingIOError"), said


def test_a_memory_hog_is_killed_at_the_memory_limit(graded: dict[str, Any]) -> None:
    said = _said(graded["students"]["mem"], "MEM")
    held = int(said.split()[2])
    limit_mb = int(Limits().memory.removesuffix("m"))
    assert 16 <= held < limit_mb, said
    evidence = " ".join(c["evidence"] for c in graded["students"]["mem"]["criteria"])
    assert "exit code 137" in evidence


def test_a_disk_filler_fills_only_a_small_tmpfs(graded: dict[str, Any]) -> None:
    said = _said(graded["students"]["disk"], "DISK")
    assert said.startswith(
        f"DISK /tmp={int(Limits().tmpfs_size.removesuffix('m'))}MB:No space left on device"
    ), said
    assert "/=0MB:Read-only file system" in said
    assert "/app=0MB:Read-only file system" in said


def test_a_log_flood_keeps_its_log_small(graded: dict[str, Any]) -> None:
    assert _said(graded["students"]["flood"], "FLOOD") == "FLOOD printed 40 MB"
    cap = 1 << 20  # Limits().log_size, 1m
    assert graded["log_sizes"], "the flooding container's log was never seen"
    assert cap // 2 < max(graded["log_sizes"]) <= cap + (64 << 10), graded["log_sizes"]


def test_a_build_that_never_ends_is_stopped(
    graded: dict[str, Any], docker_client: docker.DockerClient
) -> None:
    student = graded["students"]["build-forever"]
    evidence = " ".join(c["evidence"] for c in student["criteria"])
    assert f"the build took over {BUILD_TIMEOUT}s and was stopped" in evidence
    assert _build_containers_left(docker_client, "build-forever") == []


def test_a_build_step_past_the_disk_limit_is_stopped(
    graded: dict[str, Any], docker_client: docker.DockerClient
) -> None:
    student = graded["students"]["build-filler"]
    evidence = " ".join(c["evidence"] for c in student["criteria"])
    stopped = re.search(
        rf"build of api-server/ failed: its RUN step wrote (\d+) MB, over the {DISK_MB} MB "
        "limit: stopped",
        evidence,
    )
    assert stopped, evidence
    # The program writes 1 GB at 128 MB/s: stopped within about one interval and one listing.
    assert DISK_MB < int(stopped.group(1)) < 1024, stopped.group(0)
    assert _build_containers_left(docker_client, "build-filler") == []


def _build_containers_left(client: docker.DockerClient, attack: str) -> list[str]:
    """The intermediate containers of a hand-in's RUN step still here (their command names
    the hand-in's marker)."""
    return [
        c.name
        for c in client.containers.list(all=True)
        if f"{attack}-" in " ".join(c.attrs["Config"]["Cmd"] or [])
    ]


def test_a_container_layer_past_the_disk_limit_is_stopped(graded_writable: dict[str, Any]) -> None:
    student = graded_writable["student"]
    evidence = " ".join(c["evidence"] for c in student["criteria"])
    stopped = re.search(
        rf"api wrote (\d+) MB to its container layer, over the {DISK_MB} MB limit: stopped",
        evidence,
    )
    assert stopped, evidence
    said = _said(student, "LAYER")
    # Seen past the limit by a listing, killed before the whole GB: at 128 MB/s, within
    # about one interval (2 s) and one listing of the limit.
    assert DISK_MB < int(stopped.group(1)) < DISK_MB + 512, stopped.group(0)
    assert int(said.split()[2]) < 1024, said


def test_a_named_volume_holds_no_more_than_the_disk_limit(
    graded_writable: dict[str, Any],
) -> None:
    said = _said(graded_writable["student"], "VOLUME").strip()
    # The tmpfs is full, or the memory limit (its pages count there too) killed it first,
    # its last progress line standing. A volume on disk takes the whole GB: "no limit".
    assert re.fullmatch(r"VOLUME wrote \d+ MB(: No space left on device)?", said), said
    assert 0 < int(said.split()[2]) <= DISK_MB, said


def test_a_bind_mount_of_the_hand_in_cannot_write_to_it(graded_writable: dict[str, Any]) -> None:
    said = _said(graded_writable["student"], "HANDIN").strip()
    assert said == "HANDIN /handin/hostile.py: Read-only file system", said
    program = graded_writable["folder"] / "db" / "hostile.py"
    assert program.read_bytes() == (HOSTILE / "hostile.py").read_bytes()


def test_nothing_is_left_and_the_lab_is_untouched(
    graded: dict[str, Any],
    graded_writable: dict[str, Any],
    targets: dict[str, Any],
    docker_client: docker.DockerClient,
) -> None:
    for run in (graded["run"], graded_writable["run"]):
        selector = {"label": f"{RUN_LABEL}={run}"}
        assert docker_client.containers.list(all=True, filters=selector) == []
        assert docker_client.networks.list(filters=selector) == []
        assert docker_client.volumes.list(filters=selector) == []
        assert docker_client.images.list(filters={"reference": f"grade-{run}-*/*"}) == []
    for container in [*targets["lab"], *targets["started"]]:
        container.reload()
        assert container.status == "running", container.name
