"""The images role against a throwaway registry: builds and pushes once, then nothing while
nothing changes, then rebuilds exactly the app whose file changed.

Two tiny app contexts FROM a one-file base built FROM scratch (nothing to pull, no base
images needed), published through playbooks/images.yml, whose last task checks the
registry with `labdock catalog --expect`."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import pytest
from docker.models.images import Image

from labdock.registry import RegistryClient
from tests.harness.docker_images import build_from_dockerfile
from tests.harness.playbooks import play_report
from tests.harness.registry import USER, ThrowawayRegistry

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO_ROOT / "playbooks" / "images.yml"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
BUILD_TASK = "Ensure the image is built under its content hash"
APP_DOCKERFILE = "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY app.txt /app.txt\n"


@dataclass
class Lab:
    """The apps' directory, the extra vars that point the play at the test registry, and
    the names the role publishes."""

    apps_dir: Path
    vars_file: Path
    catalog_file: Path
    apps: list[str]
    base: str
    # The first app's local name on the build host (images_local_names), under the test
    # registry's address as every test's local name is.
    local_name: str


@pytest.fixture
def lab(
    tmp_path: Path,
    registry: ThrowawayRegistry,
    scratch_image: Image,
    docker_client: docker.DockerClient,
) -> Iterator[Lab]:
    token = secrets.token_hex(3)
    apps = [f"imgtest-{token}-a", f"imgtest-{token}-b"]
    base = f"imgtest-{token}-base"
    local_repository = f"imgtest-{token}-local"
    local_name = f"{registry.address}/{local_repository}:1"
    apps_dir = tmp_path / "apps"
    for name in apps:
        context = apps_dir / name
        context.mkdir(parents=True)
        (context / "Dockerfile").write_text(APP_DOCKERFILE, encoding="utf-8")
        (context / "app.txt").write_text(f"{name}\n", encoding="utf-8")
        # Excluded by .dockerignore, so never part of the build nor of the hash.
        (context / "notes.md").write_text("draft\n", encoding="utf-8")
        (context / ".dockerignore").write_text("*.md\n", encoding="utf-8")
    play_vars = registry.images_play_vars(tmp_path)
    catalog_file = Path(play_vars["images_catalog_file"])
    extra_vars = {
        **play_vars,
        "images_apps_dir": str(apps_dir),
        "images_apps": [{"name": name, "context": name, "bases": [base]} for name in apps],
        "images_bases": [{"name": base, "version": "1", "build_arg": "BASE_IMAGE"}],
        "images_base_refs": {base: scratch_image.tags[0]},
        "images_local_names": {apps[0]: local_name},
    }
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(extra_vars), encoding="utf-8")
    vars_file.chmod(0o600)
    try:
        yield Lab(apps_dir, vars_file, catalog_file, apps, base, local_name)
    finally:
        for name in [*apps, base, local_repository]:
            for image in docker_client.images.list(name=f"{registry.address}/{name}"):
                for tag in image.tags:
                    docker_client.images.remove(tag, noprune=False)
        subprocess.run(["docker", "logout", registry.address], capture_output=True, check=False)


@dataclass
class Run:
    changed: int
    built: set[str]
    failures: list[str]


def run_play(lab: Lab, *, succeeds: bool = True) -> Run:
    """ansible-playbook with the JSON callback: the totals, the apps whose build ran and the
    messages of the failed tasks."""
    env = {
        **os.environ,
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.json",
    }
    result = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), str(PLAYBOOK), "-e", f"@{lab.vars_file}"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert (result.returncode == 0) is succeeds, play_report(result)
    report = json.loads(result.stdout)
    built = {
        host["invocation"]["module_args"]["name"].rpartition("/")[2]
        for play in report["plays"]
        for task in play["tasks"]
        if BUILD_TASK in task["task"]["name"]
        for host in task["hosts"].values()
        if host.get("changed")
    }
    failures = [
        item.get("msg", "")
        for play in report["plays"]
        for task in play["tasks"]
        for host in task["hosts"].values()
        for item in host.get("results", [host])
        if item.get("failed")
    ]
    return Run(report["stats"]["localhost"]["changed"], built, failures)


def expected_catalog(lab: Lab) -> dict[tuple[str, str], str]:
    entries = json.loads(lab.catalog_file.read_text(encoding="utf-8"))
    return {(entry["repository"], entry["tag"]): entry["digest"] for entry in entries}


def test_builds_once_then_only_what_changed(
    lab: Lab,
    registry: ThrowawayRegistry,
    registry_client: RegistryClient,
    docker_client: docker.DockerClient,
) -> None:
    first = run_play(lab)
    assert first.changed > 0
    assert first.built == set(lab.apps)
    catalog = expected_catalog(lab)
    for name in lab.apps:
        tags = {tag for repository, tag in catalog if repository == name}
        assert {"1.0", "latest"} < tags, tags
        for tag in tags:
            assert registry_client.manifest_digest(name, tag) == catalog[(name, tag)]
    assert registry_client.manifest_digest(lab.base, "1") == catalog[(lab.base, "1")]
    assert set(registry_client.catalog()) >= {*lab.apps, lab.base}
    named = docker_client.images.get(lab.local_name)
    assert named.id == docker_client.images.get(f"{registry.address}/{lab.apps[0]}:1.0").id

    second = run_play(lab)
    assert second.changed == 0
    assert second.built == set()
    assert expected_catalog(lab) == catalog

    changed_app, untouched_app = lab.apps[1], lab.apps[0]
    (lab.apps_dir / changed_app / "app.txt").write_text("changed\n", encoding="utf-8")
    # Neither a new mtime nor an ignored file is a change of the build.
    os.utime(lab.apps_dir / untouched_app / "app.txt")
    (lab.apps_dir / untouched_app / "notes.md").write_text("edited\n", encoding="utf-8")
    # Its version tag is in the registry: the play stops before pushing anything.
    refused = run_play(lab, succeeds=False)
    assert refused.built == {changed_app}
    assert len(refused.failures) == 1, refused.failures
    assert refused.failures[0].startswith(f"{changed_app}:1.0 is already in the registry")
    assert "give it a new version" in refused.failures[0]
    for tag in ("1.0", "latest"):
        assert registry_client.manifest_digest(changed_app, tag) == catalog[(changed_app, tag)]

    extra_vars = json.loads(lab.vars_file.read_text(encoding="utf-8"))
    for app in extra_vars["images_apps"]:
        app["version"] = "1.1" if app["name"] == changed_app else "1.0"
    lab.vars_file.write_text(json.dumps(extra_vars), encoding="utf-8")
    third = run_play(lab)
    assert third.built == set()  # built by the refused run already: the hash is the identity
    after = expected_catalog(lab)
    assert registry_client.manifest_digest(changed_app, "1.0") == catalog[(changed_app, "1.0")]
    assert after[(changed_app, "1.1")] == after[(changed_app, "latest")]
    assert after[(changed_app, "latest")] != catalog[(changed_app, "latest")]
    assert registry_client.manifest_digest(changed_app, "latest") == after[(changed_app, "latest")]
    # The local name follows its app's build; the other app's is untouched by this change.
    assert docker_client.images.get(lab.local_name).id == named.id
    assert (changed_app, "1.0") not in after  # the catalog lists what this run publishes
    untouched = {key: digest for key, digest in after.items() if key[0] != changed_app}
    assert untouched == {key: digest for key, digest in catalog.items() if key[0] != changed_app}


def test_a_version_tag_pushed_from_outside_is_named_and_left_alone(
    lab: Lab,
    registry: ThrowawayRegistry,
    registry_client: RegistryClient,
    docker_client: docker.DockerClient,
) -> None:
    run_play(lab)
    app = lab.apps[0]
    repository = f"{registry.address}/{app}"
    original = docker_client.images.get(f"{repository}:1.0")
    # A teacher's hot fix pushed by hand under the same version: the app's files are unchanged.
    build_from_dockerfile(
        docker_client, f"FROM {repository}:1.0\nLABEL hotfix=yes\n", f"{repository}:1.0"
    )
    hotfix = docker_client.images.get(f"{repository}:1.0")
    auth = {"username": USER, "password": registry.password}
    try:
        docker_client.images.push(repository, tag="1.0", auth_config=auth)
        hand_pushed = registry_client.manifest_digest(app, "1.0")
        original.tag(repository, "1.0")  # the local tag back on the play's build
        refused = run_play(lab, succeeds=False)
    finally:
        # Untagged now, and a child of the app's image: the fixture's clean-up needs it gone.
        docker_client.images.remove(hotfix.id, force=True)

    assert len(refused.failures) == 1, refused.failures
    message = refused.failures[0]
    assert message.startswith(f"{app}:1.0 is already in the registry with other content")
    assert "did not change" in message and "was pushed from outside this play" in message
    assert registry_client.manifest_digest(app, "1.0") == hand_pushed  # the play moves nothing

    # The way back the message gives: the play's build under the version tag again.
    undo = message.split("undo the push: `docker tag ", 1)[1].split("`", 1)[0]
    source, target = undo.split()
    assert target == f"{repository}:1.0"
    docker_client.images.get(source).tag(repository, "1.0")
    docker_client.images.push(repository, tag="1.0", auth_config=auth)
    assert run_play(lab).changed == 0


def test_a_version_that_moves_names_the_new_build(
    lab: Lab,
    registry: ThrowawayRegistry,
    registry_client: RegistryClient,
    docker_client: docker.DockerClient,
) -> None:
    """`version_moves` (the course image's 3.11): a changed build takes the version tag and
    the local name over instead of stopping the play; the other app's version still never
    moves."""
    moving, fixed = lab.apps[0], lab.apps[1]
    extra_vars = json.loads(lab.vars_file.read_text(encoding="utf-8"))
    for app in extra_vars["images_apps"]:
        app["version_moves"] = app["name"] == moving
    lab.vars_file.write_text(json.dumps(extra_vars), encoding="utf-8")
    run_play(lab)
    before = expected_catalog(lab)

    (lab.apps_dir / moving / "app.txt").write_text("new pins\n", encoding="utf-8")
    moved = run_play(lab)
    assert moved.built == {moving}
    after = expected_catalog(lab)
    new_digest = registry_client.manifest_digest(moving, "1.0")
    assert new_digest == after[(moving, "1.0")] != before[(moving, "1.0")]
    content_tag = next(t for (r, t) in after if r == moving and t not in ("1.0", "latest"))
    assert registry_client.manifest_digest(moving, content_tag) == new_digest
    new_build = docker_client.images.get(f"{registry.address}/{moving}:{content_tag}")
    assert docker_client.images.get(lab.local_name).id == new_build.id
    assert run_play(lab).changed == 0

    (lab.apps_dir / fixed / "app.txt").write_text("changed\n", encoding="utf-8")
    refused = run_play(lab, succeeds=False)
    assert [m.partition(" ")[0] for m in refused.failures] == [f"{fixed}:1.0"], refused.failures
