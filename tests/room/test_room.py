"""site.yml and `labdock room` on a room of 2 throwaway Debian hosts (systemd, sshd, no Docker
at first), with this machine as the registry host running a registry of the test's own. Two
hosts are all a test needs (one goes on while the other is stopped or broken); the room
deploys one stack (website): what the room adds is the same for every stack, and tests/e2e
deploys all five.

One room for the whole module, used in order: a first run with a host stopped halfway, the
run that completes it, a run that changes nothing, then the CLI on the provisioned room and a
host whose Docker is broken."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from tests.harness.room import Room
from tests.harness.room_site import REPO_ROOT, PlaybookRun, RoomSite

# The module's shared room is set up inside its first test: a cold site.yml on the hosts may
# take longer than the suite's default per-test timeout on a loaded machine.
pytestmark = [pytest.mark.room, pytest.mark.timeout(2400)]

LABDOCK = Path(sys.executable).parent / "labdock"
HOSTS = ("pc01", "pc02")
STOPPED = "pc02"
BROKEN = "pc02"
ROOM_STACKS = ("website",)
# The play whose start means the hosts have Docker but no stacks yet: "halfway".
HALFWAY_PLAY = "PLAY [Ensure the course images are built, tagged and pushed"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RoomSite]:
    workdir = tmp_path_factory.mktemp("room")
    room = Room(workdir / "hosts", len(HOSTS))
    with room:
        site = RoomSite(room, workdir, stacks=ROOM_STACKS)
        try:
            yield site
        finally:
            site.close()


@pytest.fixture(scope="module")
def first_run(site: RoomSite) -> PlaybookRun:
    """site.yml from a clean room, with pc02 stopped once the run reaches the images play."""
    started = time.monotonic()
    process = site.start()
    assert process.stdout is not None
    lines: list[str] = []
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith(HALFWAY_PLAY):
                # Stopped from another thread: the play goes on reading the output meanwhile.
                threading.Thread(target=site.room.stop_host, args=(STOPPED,)).start()
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return site.keep(PlaybookRun(process.returncode, "".join(lines), time.monotonic() - started))


def room(site: RoomSite, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LABDOCK), "room", *args[:1], "-i", str(site.inventory_path), *args[1:]],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_an_inventory_without_the_lab_facts_stops_at_the_start_in_one_line(
    tmp_path: Path,
) -> None:
    inventory = tmp_path / "room.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "children": {
                        "registry": {"hosts": {"localhost": {"ansible_connection": "local"}}},
                        "lab": {"hosts": {"pc01": {"ansible_host": "192.0.2.1"}}},
                    }
                }
            }
        )
    )
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), "site.yml"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode != 0
    fatal = [line for line in result.stdout.splitlines() if line.startswith("fatal:")]
    assert len(fatal) == 1, result.stdout[-2000:]
    assert "does not set" in fatal[0]
    assert "labdock_registry_host" in fatal[0]
    assert "inventory/" in fatal[0]
    # Nothing ran after the check.
    assert "TASK [docker_host" not in result.stdout


def test_a_host_stopped_halfway_is_unreachable_and_the_others_finish(
    site: RoomSite, first_run: PlaybookRun
) -> None:
    recap = first_run.recap
    assert recap[STOPPED]["unreachable"] >= 1, first_run.stdout[-3000:]
    for host in ("pc01", "localhost"):
        assert recap[host]["failed"] == 0, first_run.stdout[-3000:]
        assert recap[host]["unreachable"] == 0
    # The other went to the end: the verify play passed on it.
    assert "ok: [pc01]" in first_run.stdout.rpartition("labdock verify passes")[2]


@pytest.fixture(scope="module")
def completing_run(site: RoomSite, first_run: PlaybookRun) -> PlaybookRun:
    """The whole room again once pc02 is back: pc02 is completed, and this is the second run
    of every other host."""
    site.room.start_host(STOPPED)
    return site.run()


def test_the_next_run_completes_the_host_once_it_is_back(completing_run: PlaybookRun) -> None:
    assert completing_run.returncode == 0, completing_run.stdout[-3000:]
    recap = completing_run.recap
    assert set(recap) == {"localhost", *HOSTS}
    assert all(counts["failed"] == 0 and counts["unreachable"] == 0 for counts in recap.values())


@pytest.fixture(scope="module")
def second_run(site: RoomSite, completing_run: PlaybookRun) -> PlaybookRun:
    """The second run of pc02, the one host the completing run changed."""
    return site.run(limit=STOPPED)


def test_a_second_run_changes_nothing_on_any_host(
    completing_run: PlaybookRun, second_run: PlaybookRun
) -> None:
    assert second_run.returncode == 0, second_run.stdout[-3000:]
    changed = {host: counts["changed"] for host, counts in completing_run.recap.items()}
    changed[STOPPED] = second_run.recap[STOPPED]["changed"]
    assert changed == {"localhost": 0, "pc01": 0, "pc02": 0}, (
        completing_run.stdout[-5000:] + second_run.stdout[-5000:]
    )


def test_the_room_fetched_its_packages_from_the_mirror_about_once(
    site: RoomSite, second_run: PlaybookRun
) -> None:
    """The hosts installed the same packages through the room's package cache (role
    apt_cache): what came from the mirror is at most 1.1 times what one host received.
    (The hosts reach the cache through Docker's port proxy: the log names no host, so one
    host's share is what the cache delivered divided by the number of hosts.)"""
    fetched = delivered = 0
    engine_deliveries = 0
    for line in site.apt_cache_log().splitlines():
        fields = line.split("|")
        if len(fields) < 5:
            continue
        if fields[1] == "I":
            fetched += int(fields[2])
        elif fields[1] == "O":
            delivered += int(fields[2])
            engine_deliveries += "/docker.io_" in fields[4]
    # Every host installed the engine through the cache.
    assert engine_deliveries == len(HOSTS), site.apt_cache_log()[-3000:]
    one_host = delivered / len(HOSTS)
    print(
        f"\nupstream {fetched} B for {len(HOSTS)} hosts, {one_host:.0f} B per host",
        file=sys.stderr,
    )
    assert 0 < fetched <= 1.1 * one_host, (fetched, delivered)


def test_every_host_runs_the_rooms_stacks_from_the_lab_registry(
    site: RoomSite, second_run: PlaybookRun
) -> None:
    result = site.room.ssh(
        "pc01", "docker ps --format '{{.Image}} {{.Label \"com.docker.compose.project\"}}'"
    )
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert {project.removeprefix("labdock-") for _, project in rows} == set(ROOM_STACKS)
    assert all(image.startswith(f"{site.host_address}/") for image, _ in rows), rows


def test_the_registry_certificate_names_the_hosts_address_and_still_localhost(
    site: RoomSite, second_run: PlaybookRun
) -> None:
    pem = (site.state_dir / "pki/hosts/localhost/server.crt").read_bytes()
    names = x509.load_pem_x509_certificate(pem).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    dns = names.value.get_values_for_type(x509.DNSName)
    ips = [str(ip) for ip in names.value.get_values_for_type(x509.IPAddress)]
    assert "localhost" in dns
    assert site.room.gateway in ips


def test_the_controllers_own_lab_still_works_after_a_room_run(
    site: RoomSite, second_run: PlaybookRun
) -> None:
    client = json.loads((site.state_dir / "client.json").read_text())
    assert client["url"] == f"https://{site.controller_address}"
    health = site.labdock("health", "registry")
    assert health.returncode == 0, health.stdout + health.stderr


def test_room_status_reports_every_host_ready(site: RoomSite, second_run: PlaybookRun) -> None:
    result = room(site, "status", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["hosts"] == list(HOSTS)
    for host in report["hosts"]:
        rows = {
            c["name"].removeprefix(f"{host} "): c
            for c in report["checks"]
            if c["name"].startswith(f"{host} ")
        }
        assert set(rows) == {
            "reachable",
            "docker",
            "trusts registry",
            "logged in",
            "stacks healthy",
            "digests = registry",
        }
        assert all(row["ok"] for row in rows.values()), rows
        assert rows["docker"]["detail"].startswith("engine 20.10")


def test_room_exec_runs_on_the_limited_hosts_and_reports_each_exit_code(
    site: RoomSite, second_run: PlaybookRun
) -> None:
    result = room(
        site, "exec", "--limit", "pc0*", "--json", "--", "hostname; test $(hostname) = pc01"
    )
    assert result.returncode == 1  # pc02's command exits 1
    report = json.loads(result.stdout)
    codes = {entry["host"]: entry["exit_code"] for entry in report["hosts"]}
    assert codes == {"pc01": 0, "pc02": 1}
    assert "1 of 2 hosts failed: pc02" in result.stderr
    only = room(site, "exec", "--limit", "pc0*:!pc02", "--json", "--", "hostname")
    assert only.returncode == 0, only.stdout + only.stderr
    assert [entry["host"] for entry in json.loads(only.stdout)["hosts"]] == ["pc01"]


def test_room_reset_removes_what_students_left_and_keeps_the_lab(
    site: RoomSite, second_run: PlaybookRun
) -> None:
    image = f"{site.host_address}/website:1.0"
    # What a student pushed under their namespace of the lab registry, as the last exam left
    # it: pushed from the controller (its account may push anywhere), pulled by each host.
    pushed = f"{site.controller_address}/alice/socket_server:1.0"
    subprocess.run(["docker", "tag", f"{site.controller_address}/website:1.0", pushed], check=True)
    try:
        subprocess.run(["docker", "push", "--quiet", pushed], check=True, capture_output=True)
    finally:
        subprocess.run(["docker", "image", "rm", pushed], check=False, capture_output=True)
    student_image = f"{site.host_address}/alice/socket_server:1.0"
    leave = (
        "docker volume create student-vol && docker network create student-net && "
        f"docker tag {image} student/copy:1 && docker pull --quiet {student_image} && "
        f"printf 'FROM {image}\\nLABEL built=by-a-student\\n' | docker build -q -t built:1 - && "
        f"docker create --name student-box --network student-net -v student-vol:/data {image}"
    )
    left = room(site, "exec", "--", leave)
    assert left.returncode == 0, left.stdout + left.stderr
    dry = room(site, "reset", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    listed = {
        entry["host"]: sorted((item["kind"], item["name"]) for item in entry["removed"])
        for entry in json.loads(dry.stdout)["hosts"]
    }
    expected = [
        ("container", "student-box"),
        ("image", student_image),
        ("image", "built:1"),
        ("image", "student/copy:1"),
        ("network", "student-net"),
        ("volume", "student-vol"),
    ]
    assert listed == dict.fromkeys(HOSTS, expected)
    # The dry run removed nothing.
    assert site.room.ssh("pc01", "docker inspect student-box >/dev/null").returncode == 0
    assert room(site, "reset").returncode == 0
    again = json.loads(room(site, "reset", "--dry-run", "--json").stdout)
    assert all(entry["removed"] == [] for entry in again["hosts"])
    gone = site.room.ssh("pc01", f"docker image inspect {student_image} built:1 student/copy:1")
    assert gone.returncode != 0 and gone.stdout.strip() == "[]", gone.stdout + gone.stderr
    status = room(site, "status")
    assert status.returncode == 0, status.stdout + status.stderr


def test_room_collect_copies_each_hosts_folder_into_its_own(
    site: RoomSite, second_run: PlaybookRun, tmp_path: Path
) -> None:
    made = room(site, "exec", "--", "mkdir -p /srv/exam/sub && hostname > /srv/exam/sub/who.txt")
    assert made.returncode == 0
    result = room(site, "collect", "/srv/exam", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    for host in HOSTS:
        assert (tmp_path / host / "exam/sub/who.txt").read_text().strip() == host


def test_a_host_with_broken_docker_fails_with_one_named_message(
    site: RoomSite, second_run: PlaybookRun
) -> None:
    broken = {BROKEN: {"docker_host_daemon_config": {"no-such-directive": True}}}
    run = site.run("playbooks/provision.yml", host_vars=broken)
    try:
        assert run.returncode != 0
        fatal = run.fatal_lines(BROKEN)
        assert len(fatal) == 1, run.stdout[-3000:]
        assert f"Docker on {BROKEN} does not answer" in fatal[0]
        assert "no-such-directive" in fatal[0]
        recap = run.recap
        assert recap["pc01"]["failed"] == 0
        status = room(site, "status", "--junit", str(site.workdir / "status.xml"))
        assert status.returncode == 1
        failed = [
            case.get("name")
            for case in ET.parse(site.workdir / "status.xml").iter("testcase")
            if case.find("failure") is not None
        ]
        assert f"{BROKEN} docker" in failed
        assert not [name for name in failed if not name.startswith(BROKEN)]
    finally:
        # The merge keeps a directive once written: take it out by hand, as an admin would.
        site.room.ssh(BROKEN, "echo '{}' > /etc/docker/daemon.json && systemctl restart docker")


def test_room_status_exits_1_naming_a_stopped_host(site: RoomSite, second_run: PlaybookRun) -> None:
    site.room.stop_host("pc01")
    try:
        result = room(site, "status", "--json")
        assert result.returncode == 1
        rows = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
        assert rows["pc01 reachable"]["ok"] is False
        assert rows["pc02 reachable"]["ok"] is True
    finally:
        site.room.start_host("pc01")


def test_room_exits_2_when_the_inventory_cannot_be_read(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(LABDOCK), "room", "status", "-i", str(tmp_path / "missing.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "missing.yml" in result.stderr
