"""labdock usage, tag delete and prune against a real registry filled as a term leaves it
(tests/harness/term.py): sibling tags survive, dry runs delete nothing and say per repository
which images stay and why, retention by count of images, age and regex over 50
repositories, and what the lab deploys is never deleted."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from labdock.errors import RegistryNotFound
from labdock.registry import RegistryClient
from tests.conftest import LABDOCK
from tests.harness.docker_images import untag_under
from tests.harness.registry import USER, ThrowawayRegistry
from tests.harness.term import ARCHIVES, fill_term, student_repositories

pytestmark = pytest.mark.integration

STUDENTS = 50
# Written by hand from the term's layout, not from the code under test.
POLICY = [
    {"repositories": "students/*", "keep_last": 1, "keep_tags": ["^latest$", "^[0-9.]+$"]},
    {"repositories": "archive/*", "older_than_days": 30},
    {"repositories": "multi/*", "keep_last": 1},
]
PROTECTED_BY_CATALOG = "students/s007:a"
PROTECTED_BY_CONTAINER = "students/s008:a"


@pytest.fixture(scope="module")
def term_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThrowawayRegistry]:
    with ThrowawayRegistry(tmp_path_factory.mktemp("maintenance-cli")) as lab:
        yield lab


@pytest.fixture(scope="module")
def term(term_registry: ThrowawayRegistry) -> dict[str, str]:
    with RegistryClient(term_registry.settings) as client:
        return fill_term(client, students=STUDENTS)


def labdock(lab: ThrowawayRegistry, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LABDOCK), *args],
        # Wide enough that the plan's table keeps each reason on one line.
        env={**lab.cli_env(), "COLUMNS": "250"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def tags_now(lab: ThrowawayRegistry) -> dict[str, str]:
    """Every repo:tag -> digest the registry serves now, as `labdock catalog` lists it."""
    result = labdock(lab, "catalog", "--json")
    assert result.returncode == 0, result.stderr
    return {
        f"{repo['name']}:{t['tag']}": t["digest"]
        for repo in json.loads(result.stdout)["repositories"]
        for t in repo["tags"]
    }


def assert_pullable(client: RegistryClient, repository: str, digest: str) -> None:
    """The manifest and every blob it (or, for an index, each platform manifest) names."""
    manifest = client.manifest(repository, digest)
    assert manifest.digest == digest
    for child in manifest.children:
        assert_pullable(client, repository, child)
    for blob, _ in manifest.blobs:
        assert client.blob_exists(repository, blob), f"{repository}@{blob} is gone"


def test_usage_counts_shared_blobs_once(term_registry, term) -> None:
    result = labdock(term_registry, "usage", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    rows = {row["name"]: row for row in report["repositories"]}
    student = rows["students/s000"]
    assert (student["tags"], student["manifests"]) == (5, 3)
    # The release image is in all 50 student repositories: shared, and counted once.
    assert 0 < student["shared_bytes"] < student["bytes"]
    assert report["total_bytes"] < sum(row["bytes"] for row in rows.values())
    assert rows["multi/app"]["manifests"] == 6  # two indexes, two platforms each
    sizes = [row["bytes"] for row in report["repositories"]]
    assert sizes == sorted(sizes, reverse=True)
    # The throwaway registry runs on this engine: its volume is found and measured.
    assert report["volume"]["name"].startswith(term_registry.project)
    assert report["volume"]["bytes_on_disk"] > report["total_bytes"]


def test_tag_delete_keeps_sibling_tags(
    term_registry, term, docker_client: docker.DockerClient
) -> None:
    shared = term["siblings/web:latest"]
    result = labdock(term_registry, "tag", "delete", "siblings/web:latest", "siblings/web:dev")
    assert result.returncode == 0, result.stderr
    after = tags_now(term_registry)
    assert "siblings/web:latest" not in after
    assert "siblings/web:dev" not in after
    assert after["siblings/web:1.0"] == after["siblings/web:stable"] == shared
    with RegistryClient(term_registry.settings) as client:
        assert_pullable(client, "siblings/web", shared)
        # dev was alone on its digest: the manifest itself went, so GC can free it.
        with pytest.raises(RegistryNotFound):
            client.manifest("siblings/web", term["siblings/web:dev"])
    reference = f"{term_registry.address}/siblings/web"
    auth = {"username": USER, "password": term_registry.password}
    try:
        pulled = docker_client.images.pull(reference, tag="stable", auth_config=auth)
        assert f"{reference}@{shared}" in pulled.attrs["RepoDigests"]
    finally:
        untag_under(docker_client, term_registry.address)


def test_tag_delete_of_a_missing_tag_exits_1_naming_it(term_registry, term) -> None:
    before = tags_now(term_registry)
    result = labdock(term_registry, "tag", "delete", "siblings/web:nope", "students/s000:a")
    assert result.returncode == 1
    assert "siblings/web:nope" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert tags_now(term_registry) == before


def test_tag_delete_dry_run_deletes_nothing(term_registry, term) -> None:
    before = tags_now(term_registry)
    result = labdock(term_registry, "tag", "delete", "--dry-run", "--json", "students/s001:c")
    assert result.returncode == 0, result.stderr
    planned = json.loads(result.stdout)["deleted"]
    assert [(d["tag"], d["method"]) for d in planned] == [("c", "untag (digest shared)")]
    assert tags_now(term_registry) == before


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("policy") / "retention.json"
    path.write_text(json.dumps(POLICY), encoding="utf-8")
    return path


def test_prune_dry_run_prints_the_plan_and_deletes_nothing(
    term_registry, term, policy_file: Path
) -> None:
    before = tags_now(term_registry)
    result = labdock(term_registry, "prune", "--policy", str(policy_file), "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["dry_run"] is True
    assert {"repository", "tag", "digest", "why"} <= set(plan["deleted"][0])
    assert len([d for d in plan["deleted"] if d["tag"]]) > STUDENTS
    assert tags_now(term_registry) == before


def test_prune_dry_run_says_per_repository_which_images_stay_and_why(
    term_registry, term, policy_file: Path
) -> None:
    result = labdock(term_registry, "prune", "--policy", str(policy_file), "--dry-run")
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if "students/s001" in line]
    assert len(rows) == 1  # the repository's name on its first row only
    block = result.stdout[result.stdout.index("students/s001") :].splitlines()[:3]
    # Newest first: c with latest (kept: the newest), a (deleted), the release image (kept
    # for its 1.0 tag, with its other tag).
    assert "c latest" in block[0] and "keep" in block[0]
    assert "number 1 of the newest 1" in block[0]
    assert "tag latest matches keep_tags '^latest$'" in block[0]
    assert (
        " a " in block[1] and "delete" in block[1] and "number 2 by age; 100 days old" in block[1]
    )
    assert "1.0 release" in block[2] and "keep" in block[2]
    assert "tag 1.0 matches keep_tags '^[0-9.]+$'" in block[2]


@pytest.fixture(scope="module")
def pruned(
    term_registry: ThrowawayRegistry,
    term: dict[str, str],
    policy_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
    docker_client: docker.DockerClient,
) -> Iterator[dict]:
    """One real prune, with one digest in an expected catalog and one used by a container."""
    catalog = tmp_path_factory.mktemp("state") / "expected-catalog.json"
    repository, tag = PROTECTED_BY_CATALOG.split(":")
    entry = {"repository": repository, "tag": tag, "digest": term[PROTECTED_BY_CATALOG]}
    catalog.write_text(json.dumps([entry]), encoding="utf-8")
    repository, tag = PROTECTED_BY_CONTAINER.split(":")
    reference = f"{term_registry.address}/{repository}"
    auth = {"username": USER, "password": term_registry.password}
    image = docker_client.images.pull(reference, tag=tag, auth_config=auth)
    container = docker_client.containers.create(image.id, command=["/hello.txt"])
    try:
        result = labdock(
            term_registry,
            "prune",
            "--policy",
            str(policy_file),
            "--expected-catalog",
            str(catalog),
            "--json",
        )
        assert result.returncode == 0, result.stderr
        yield json.loads(result.stdout)
    finally:
        container.remove(force=True)
        untag_under(docker_client, term_registry.address)


def test_prune_by_count_and_regex_over_50_repositories(term_registry, term, pruned) -> None:
    after = tags_now(term_registry)
    protected = {PROTECTED_BY_CATALOG, PROTECTED_BY_CONTAINER}
    for name in student_repositories(STUDENTS):
        # The newest image (c, with latest on it), the release image for its 1.0 tag with
        # every tag on it (release too); a (an older image, no matching tag) goes.
        expected = {f"{name}:{t}" for t in ("c", "latest", "1.0", "release")}
        expected |= {ref for ref in protected if ref.startswith(f"{name}:")}
        assert {ref for ref in after if ref.startswith(f"{name}:")} == expected
        for ref in expected:
            assert after[ref] == term[ref]


def test_prune_by_age(term_registry, term, pruned) -> None:
    after = tags_now(term_registry)
    for i in range(ARCHIVES):
        assert after[f"archive/x{i}:recent"] == term[f"archive/x{i}:recent"]
        assert f"archive/x{i}:stale" not in after


def test_prune_keeps_what_the_lab_deploys(term, pruned) -> None:
    kept = {(d["repository"], d["digest"]): d["why"] for d in pruned["images"] if d["keep"]}
    for ref, source in (
        (PROTECTED_BY_CATALOG, "expected catalog"),
        (PROTECTED_BY_CONTAINER, "used by container"),
    ):
        repository = ref.split(":")[0]
        assert kept[(repository, term[ref])].startswith(f"protected: {source}")
    assert any("1 digests from expected catalog" in line for line in pruned["protected_from"])


def test_an_image_goes_with_every_tag_or_stays_with_every_tag(term_registry, term, pruned) -> None:
    methods = {f"{d['repository']}:{d['tag']}": d["method"] for d in pruned["deleted"] if d["tag"]}
    assert methods["students/s000:a"] == "delete manifest"
    assert "students/s000:release" not in methods
    assert {m for m in methods.values()} == {"delete manifest"}
    with RegistryClient(term_registry.settings) as client:
        assert_pullable(client, "students/s000", term["students/s000:1.0"])


def test_prune_keeps_both_children_of_a_kept_index(term_registry, term, pruned) -> None:
    after = tags_now(term_registry)
    assert after["multi/app:latest"] == term["multi/app:latest"]
    assert "multi/app:old" not in after
    with RegistryClient(term_registry.settings) as client:
        index = client.manifest("multi/app", term["multi/app:latest"])
        assert len(index.children) == 2
        assert_pullable(client, "multi/app", index.digest)
    children = [d for d in pruned["deleted"] if d["repository"] == "multi/app" and not d["tag"]]
    assert len(children) == 2  # the old index's own platform manifests went with it


def test_prune_without_rules_is_refused(term_registry) -> None:
    result = labdock(term_registry, "prune", "--keep-last", "1")
    assert result.returncode == 2
    assert "--repositories" in result.stderr
