"""playbooks/maintenance.yml against a real registry filled as a term leaves it, deployed
in a folder laid out as the registry role deploys it: prune and GC free space and keep every
kept tag pullable with its digest; a second run changes nothing; the read-only window
refuses pushes with one clear line and serves pulls; a registry killed in the middle of GC
is brought back read-write and the next run completes without losing anything kept."""

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

from labdock.engine import disk_usage
from labdock.registry import RegistryClient
from tests.conftest import LABDOCK
from tests.harness.docker_images import untag_under
from tests.harness.playbooks import play_report
from tests.harness.populate import TinyImage, fill
from tests.harness.registry import USER, ThrowawayRegistry
from tests.harness.term import fill_term

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO_ROOT / "playbooks" / "maintenance.yml"
INVENTORY = REPO_ROOT / "inventory" / "local.yml"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
# Retention over 50 repositories is test_maintenance_cli's; here the play's steps matter.
STUDENTS = 12
POLICY = [
    {"repositories": "students/*", "keep_last": 2, "keep_tags": ["^latest$", "^[0-9.]+$"]},
    {"repositories": "archive/*", "older_than_days": 30},
    {"repositories": "multi/*", "keep_last": 1},
    {"repositories": "scratch/*", "keep_last": 0},
]
# The maintenance override the play adds for its read-only window (files of the deploy dir).
READ_ONLY_FILES = ("-f", "compose.yaml", "-f", "compose.readonly.yaml")
# Deleted by POLICY, written out from the term's layout (tests/harness/term.py).
PRUNED_STUDENT_TAGS = ("a", "release")


@dataclass
class Lab:
    registry: ThrowawayRegistry
    deploy: Path
    vars_file: Path
    refs: dict[str, str]

    @property
    def container(self) -> str:
        return f"{self.registry.project}-registry-1"

    def volume_bytes(self, client: docker.DockerClient) -> int:
        volume = client.volumes.get(f"{self.registry.project}_registry_data")
        return disk_usage(Path(volume.attrs["Mountpoint"]))

    def play(self) -> subprocess.CompletedProcess[str]:
        """Run the play to its end; its output (stderr merged) is in stdout."""
        process = self.play_in_background()
        output, _ = process.communicate(timeout=900)
        return subprocess.CompletedProcess(process.args, process.returncode, output, "")

    def play_in_background(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [
                str(ANSIBLE_PLAYBOOK),
                "-i",
                str(INVENTORY),
                str(PLAYBOOK),
                "-e",
                f"@{self.vars_file}",
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


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    workdir = tmp_path_factory.mktemp("maintenance-play")
    with ThrowawayRegistry(workdir / "registry") as registry:
        with RegistryClient(registry.settings) as client:
            refs = fill_term(client, students=STUDENTS)
        # The registry role's own variables for this deployment: the play restarts the very
        # folder and project the role deployed.
        extra_vars = registry.role_vars(
            registry_client_settings_path=str(
                registry.write_client_config(workdir / "client.json")
            ),
            registry_retention_rules=POLICY,
        )
        vars_file = workdir / "vars.json"
        vars_file.write_text(json.dumps(extra_vars), encoding="utf-8")
        yield Lab(registry, registry.deploy_dir, vars_file, refs)


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
    before = lab.tags()
    bytes_before = lab.volume_bytes(docker_client)
    result = lab.play()
    assert result.returncode == 0, play_report(result)
    return {
        "before": before,
        "after": lab.tags(),
        "bytes_before": bytes_before,
        "bytes_after": lab.volume_bytes(docker_client),
        "output": result.stdout,
    }


def kept_refs(before: dict[str, str]) -> dict[str, str]:
    """What POLICY keeps of the term, from its layout."""
    gone = {f"students/s{i:03d}:{t}" for i in range(STUDENTS) for t in PRUNED_STUDENT_TAGS}
    gone |= {f"archive/x{i}:stale" for i in range(3)} | {"multi/app:old"}
    return {ref: digest for ref, digest in before.items() if ref not in gone}


def test_prune_and_gc_keep_every_kept_tag_and_free_space(
    lab: Lab, first_run: dict, docker_client: docker.DockerClient
) -> None:
    kept = kept_refs(first_run["before"])
    assert first_run["after"] == kept
    assert first_run["bytes_after"] < first_run["bytes_before"]
    assert "garbage collected in a read-only window" in first_run["output"]
    assert "the registry is read-write" in first_run["output"]
    pull_every(docker_client, lab, kept)
    with RegistryClient(lab.registry.settings) as client:
        index = client.manifest("multi/app", kept["multi/app:latest"])
        assert len(index.children) == 2
        for child in index.children:
            manifest = client.manifest("multi/app", child)
            assert all(client.blob_exists("multi/app", blob) for blob, _ in manifest.blobs)


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
        result = lab.labdock("tag", "delete", "siblings/web:stable")
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1
        assert "in maintenance" in result.stderr and "retry after" in result.stderr
        events = list(
            docker_client.images.push(target, "1", auth_config=auth, stream=True, decode=True)
        )
        assert any("error" in event for event in events)
        pulled = docker_client.images.pull(
            f"{lab.registry.address}/siblings/web", tag="1.0", auth_config=auth
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
