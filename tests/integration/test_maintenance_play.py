"""playbooks/maintenance.yml against a real registry (the registry role, token auth) filled
with issue 17's term (tests/harness/term.py) and the issue's rules, with a lab host whose
stacks record old versions in .env.previous: the kept set is exactly what the rules mean plus
the rollback targets; prune and GC free space and keep every kept tag pullable with its
digest; a host that cannot be reached stops the prune naming it, unless it is skipped on
purpose; a second run changes nothing; the read-only window refuses pushes with one clear
line and serves pulls; a registry killed in the middle of GC is brought back read-write and
the next run completes without losing anything kept."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import pytest
import yaml

from labdock.engine import disk_usage
from labdock.registry import RegistryClient
from tests.conftest import LABDOCK
from tests.harness.docker_images import untag_under
from tests.harness.playbooks import play_report
from tests.harness.populate import TinyImage, fill
from tests.harness.registry import USER, ThrowawayRegistry, free_loopback_port
from tests.harness.term import (
    COURSE_APPS,
    LATEST_ON_TRY1,
    MULTI_PLATFORM_APP,
    TERM_STUDENTS,
    fill_course_term,
)

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO_ROOT / "playbooks" / "maintenance.yml"
INVENTORY = REPO_ROOT / "inventory" / "local.yml"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
# The rules, as a teacher writes them; scratch/* is for the GC test at the end.
POLICY = [
    {"repositories": "students/*", "keep_last": 1, "keep_tags": ["^latest$"]},
    {"repositories": "course/*", "keep_last": 3, "keep_tags": ["^latest$"]},
    {"repositories": "scratch/*", "keep_last": 0},
]
# The maintenance override the play adds for its read-only window (files of the deploy dir).
READ_ONLY_FILES = ("-f", "compose.yaml", "-f", "compose.readonly.yaml")
# What the lab host's stacks record (as the stacks role writes .env): stack -> file ->
# variable -> the course image it pins. 1.1 of app1 and 1.0 of the multi-platform app are
# rollback targets the rules alone would delete.
RECORDS = {
    "frontend_backend": {
        ".env": {
            "FRONTEND_IMAGE": f"{COURSE_APPS[0]}:1.5",
            "BACKEND_IMAGE": f"{COURSE_APPS[1]}:1.5",
        },
        ".env.previous": {
            "FRONTEND_IMAGE": f"{COURSE_APPS[0]}:1.1",
            "BACKEND_IMAGE": f"{COURSE_APPS[1]}:1.5",
        },
    },
    "website": {
        ".env": {"WEBSITE_IMAGE": f"{MULTI_PLATFORM_APP}:1.5"},
        ".env.previous": {"WEBSITE_IMAGE": f"{MULTI_PLATFORM_APP}:1.0"},
    },
}
ROLLBACK_TARGETS = {f"{COURSE_APPS[0]}:1.1", f"{MULTI_PLATFORM_APP}:1.0"}


def kept_by_the_rules() -> set[str]:
    """What the issue's rules mean, written from the term's layout, not from the code:
    keep_last counts images, and an image is kept with every tag on it."""
    kept = set()
    for app in COURSE_APPS:
        # The three newest versions; latest is on 1.5, the same image.
        kept |= {f"{app}:{v}" for v in ("1.5", "1.4", "1.3", "latest")}
    for student in TERM_STUDENTS:
        # The newest image (try2); latest is on it, except for one student whose latest
        # keeps try1's image on top, by keep_tags.
        kept |= {f"{student}:try2", f"{student}:latest"}
        if student == LATEST_ON_TRY1:
            kept.add(f"{student}:try1")
    return kept


@dataclass
class Lab:
    registry: ThrowawayRegistry
    deploy: Path
    vars_file: Path
    refs: dict[str, str]
    # The stacks' records of this machine (a lab host), as the stacks role leaves them.
    stacks_root: Path
    # An inventory beside the repo's: this machine, and a lab host no one can reach.
    room_inventory: Path

    @property
    def container(self) -> str:
        return f"{self.registry.project}-registry-1"

    def volume_bytes(self, client: docker.DockerClient) -> int:
        volume = client.volumes.get(f"{self.registry.project}_registry_data")
        return disk_usage(Path(volume.attrs["Mountpoint"]))

    def play(self, *args: str, inventory: Path = INVENTORY) -> subprocess.CompletedProcess[str]:
        """Run the play to its end; its output (stderr merged) is in stdout."""
        process = self.play_in_background(*args, inventory=inventory)
        output, _ = process.communicate(timeout=900)
        return subprocess.CompletedProcess(process.args, process.returncode, output, "")

    def play_in_background(self, *args: str, inventory: Path = INVENTORY) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [
                str(ANSIBLE_PLAYBOOK),
                "-i",
                str(inventory),
                str(PLAYBOOK),
                "-e",
                f"@{self.vars_file}",
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=REPO_ROOT,
        )

    def labdock(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(LABDOCK), *args],
            env=self.registry.cli_env(),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def tags(self) -> dict[str, str]:
        result = self.labdock("catalog", "--json")
        assert result.returncode == 0, result.stderr
        return {
            f"{repo['name']}:{t['tag']}": t["digest"]
            for repo in json.loads(result.stdout)["repositories"]
            for t in repo["tags"]
        }


def write_records(root: Path, address: str, refs: dict[str, str]) -> None:
    """The stacks' .env and .env.previous as the stacks role leaves them after an update."""
    for stack, files in RECORDS.items():
        (root / stack).mkdir(parents=True)
        for name, pins in files.items():
            lines = [f"COMPOSE_PROJECT_NAME=labdock-{stack}", "STUDENT_AGE_PASSWORD=secret"]
            for variable, ref in pins.items():
                repository = ref.rsplit(":", 1)[0]
                lines.append(f"{variable}={address}/{repository}@{refs[ref]}")
            path = root / stack / name
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            path.chmod(0o600)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    workdir = tmp_path_factory.mktemp("maintenance-play")
    with ThrowawayRegistry(workdir / "registry") as registry:
        with RegistryClient(registry.settings) as client:
            refs = fill_course_term(client)
        write_records(workdir / "opt", registry.address, refs)
        # The registry role's own variables for this deployment: the play restarts the very
        # folder and project the role deployed; this machine's stacks are under opt/.
        extra_vars = registry.role_vars(
            registry_client_settings_path=str(
                registry.write_client_config(workdir / "client.json")
            ),
            registry_retention_rules=POLICY,
            registry_maintenance_stacks_root=str(workdir / "opt"),
            registry_maintenance_registry_address=registry.address,
        )
        vars_file = workdir / "vars.json"
        vars_file.write_text(json.dumps(extra_vars), encoding="utf-8")
        yield Lab(
            registry,
            registry.deploy_dir,
            vars_file,
            refs,
            workdir / "opt",
            unreachable_room(workdir),
        )


def unreachable_room(workdir: Path) -> Path:
    """This machine as registry and lab host, plus pc09: a lab host whose SSH port is closed
    (the README's room inventory layout, the lab's group_vars linked beside it)."""
    controller = {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
    }
    pc09 = {
        "ansible_host": "127.0.0.1",
        "ansible_port": free_loopback_port(),
        "ansible_user": "teacher",
        "ansible_ssh_common_args": "-o ConnectTimeout=5 -o BatchMode=yes",
    }
    inventory = {
        "all": {
            "children": {
                "registry": {"hosts": {"localhost": controller}},
                "lab": {"hosts": {"localhost": None, "pc09": pc09}},
            }
        }
    }
    path = workdir / "room" / "inventory.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(inventory), encoding="utf-8")
    (path.parent / "group_vars").symlink_to(REPO_ROOT / "inventory" / "group_vars")
    return path


def changed_count(recap: str) -> int:
    return sum(int(n) for n in re.findall(r"changed=(\d+)", recap.split("PLAY RECAP")[-1]))


def pull_every(client: docker.DockerClient, lab: Lab, refs: dict[str, str]) -> None:
    """Pull each kept digest with the real engine, from one repository that holds it: what a
    student's `docker pull` needs. (The play itself checked every tag's manifest and blobs.)"""
    auth = {"username": USER, "password": lab.registry.password}
    pairs = sorted({digest: ref.rsplit(":", 1)[0] for ref, digest in sorted(refs.items())}.items())
    pairs = [(repository, digest) for digest, repository in pairs]

    def pull(pair: tuple[str, str]) -> None:
        repository, digest = pair
        image = client.images.pull(
            f"{lab.registry.address}/{repository}@{digest}", auth_config=auth
        )
        assert image.id

    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(pull, pairs))
    finally:
        # Pulled by digest: no tags to drop, remove by reference.
        for repository, digest in pairs:
            with contextlib.suppress(docker.errors.APIError):
                client.images.remove(f"{lab.registry.address}/{repository}@{digest}")
        untag_under(client, lab.registry.address)


@pytest.fixture(scope="module")
def first_run(lab: Lab, docker_client: docker.DockerClient) -> dict:
    """The first real run, in the room with pc09 unreachable and skipped on purpose."""
    before = lab.tags()
    bytes_before = lab.volume_bytes(docker_client)
    result = lab.play(
        "-e", "registry_maintenance_skip_unreachable=true", inventory=lab.room_inventory
    )
    assert result.returncode == 0, play_report(result)
    return {
        "before": before,
        "after": lab.tags(),
        "bytes_before": bytes_before,
        "bytes_after": lab.volume_bytes(docker_client),
        "output": result.stdout,
    }


def test_an_unreachable_lab_host_stops_the_prune_naming_it(lab: Lab) -> None:
    before = lab.tags()
    result = lab.play(inventory=lab.room_inventory)
    assert result.returncode != 0
    stop = [line for line in result.stdout.splitlines() if "cannot read which images" in line]
    assert len(stop) == 1, result.stdout[-3000:]
    assert "pc09 run or would roll back to (unreachable): nothing was pruned" in stop[0]
    assert "registry_maintenance_skip_unreachable" in stop[0]
    assert "...ignoring" not in result.stdout
    assert lab.tags() == before


def test_the_rules_keep_images_and_rollback_targets_exactly(lab: Lab, first_run: dict) -> None:
    expected = kept_by_the_rules() | ROLLBACK_TARGETS
    assert set(first_run["after"]) == expected
    assert {ref: lab.refs[ref] for ref in expected} == first_run["after"]
    assert "pruning without pc09 (unreachable" in first_run["output"]
    # The plan says why each rollback target stayed: where it is recorded.
    protected_file = lab.registry.state_dir / "maintenance" / "protected-digests.json"
    protected = json.loads(protected_file.read_text())
    where = protected[lab.refs[f"{COURSE_APPS[0]}:1.1"]]
    assert where == [f"localhost:{lab.stacks_root}/frontend_backend/.env.previous"]
    # Both platform images of the kept old index are still there.
    with RegistryClient(lab.registry.settings) as client:
        index = client.manifest(MULTI_PLATFORM_APP, lab.refs[f"{MULTI_PLATFORM_APP}:1.0"])
        assert len(index.children) == 2
        for child in index.children:
            assert client.manifest(MULTI_PLATFORM_APP, child).digest == child


def test_prune_and_gc_keep_every_kept_tag_and_free_space(
    lab: Lab, first_run: dict, docker_client: docker.DockerClient
) -> None:
    kept = first_run["after"]
    assert first_run["bytes_after"] < first_run["bytes_before"]
    assert "garbage collected in a read-only window" in first_run["output"]
    assert "the registry is read-write" in first_run["output"]
    pull_every(docker_client, lab, kept)
    with RegistryClient(lab.registry.settings) as client:
        index = client.manifest(MULTI_PLATFORM_APP, kept[f"{MULTI_PLATFORM_APP}:latest"])
        assert len(index.children) == 2
        for child in index.children:
            manifest = client.manifest(MULTI_PLATFORM_APP, child)
            assert all(client.blob_exists(MULTI_PLATFORM_APP, blob) for blob, _ in manifest.blobs)


def test_second_run_changes_nothing(lab: Lab, first_run: dict) -> None:
    result = lab.play()
    assert result.returncode == 0, play_report(result)
    assert changed_count(result.stdout) == 0, result.stdout[-3000:]
    assert "nothing to collect, no read-only window" in result.stdout
    assert lab.tags() == first_run["after"]


def test_read_only_window_refuses_pushes_in_one_line_and_serves_pulls(
    lab: Lab, first_run: dict, docker_client: docker.DockerClient, scratch_image
) -> None:
    auth = {"username": USER, "password": lab.registry.password}
    target = f"{lab.registry.address}/window/pushed"
    scratch_image.tag(target, "1")
    lab.registry.compose(*READ_ONLY_FILES, "up", "-d", "--wait", "registry")
    try:
        result = lab.labdock("tag", "delete", f"{COURSE_APPS[0]}:1.4")
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1
        assert "in maintenance" in result.stderr and "retry after" in result.stderr
        events = list(
            docker_client.images.push(target, "1", auth_config=auth, stream=True, decode=True)
        )
        assert any("error" in event for event in events)
        pulled = docker_client.images.pull(
            f"{lab.registry.address}/{COURSE_APPS[0]}", tag="1.5", auth_config=auth
        )
        assert pulled.id
    finally:
        lab.registry.compose("up", "-d", "--wait", "registry")
    try:
        events = list(
            docker_client.images.push(target, "1", auth_config=auth, stream=True, decode=True)
        )
        assert not [event["error"] for event in events if "error" in event]
        assert lab.tags()["window/pushed:1"].startswith("sha256:")
    finally:
        untag_under(docker_client, lab.registry.address)


def test_gc_killed_halfway_then_the_next_run_completes(
    lab: Lab, first_run: dict, docker_client: docker.DockerClient
) -> None:
    # Enough unreferenced content that the collector is still running when we look.
    scratch = [f"scratch/r{i:03d}" for i in range(150)]
    with RegistryClient(lab.registry.settings) as client:
        fill(client, TinyImage.make("scratch\n"), scratch, ["old"])
        for name in scratch[:50]:
            TinyImage.make(f"{name} own\n").upload(client, name)
    kept = {ref: d for ref, d in lab.tags().items() if not ref.startswith("scratch/")}
    bytes_before = lab.volume_bytes(docker_client)

    play = lab.play_in_background()
    killed = False
    deadline = time.monotonic() + 600
    while play.poll() is None and time.monotonic() < deadline:
        try:
            processes = docker_client.containers.get(lab.container).top()["Processes"] or []
        except docker.errors.APIError:
            processes = []
        if any(
            "garbage-collect" in " ".join(p) and "--dry-run" not in " ".join(p) for p in processes
        ):
            docker_client.containers.get(lab.container).kill()
            killed = True
            break
        time.sleep(0.02)
    output, _ = play.communicate(timeout=600)
    assert killed, "garbage collection was never seen running: " + output[-2000:]
    assert play.returncode != 0
    assert "the registry is read-write again" in output
    # Read-write again: a write goes through.
    with RegistryClient(lab.registry.settings) as client:
        TinyImage.make("after the kill\n").upload(client, "window/after")

    result = lab.play()
    assert result.returncode == 0, play_report(result)
    after = lab.tags()
    assert {ref: after.get(ref) for ref in kept} == kept
    assert not [ref for ref in after if ref.startswith("scratch/")]
    assert lab.volume_bytes(docker_client) < bytes_before
    pull_every(docker_client, lab, kept)
