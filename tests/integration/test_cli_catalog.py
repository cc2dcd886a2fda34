"""`labdock catalog` against a real registry: listing, --expect, --junit, and a stopped
registry."""

from __future__ import annotations

import json
import secrets
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labdock.registry import RegistryClient
from tests.harness.populate import TinyImage
from tests.harness.registry import ThrowawayRegistry

pytestmark = pytest.mark.integration


@pytest.fixture
def pushed(registry_client: RegistryClient, tiny_image: TinyImage) -> tuple[str, str]:
    """A fresh repository holding tags 1.0 and latest; returns (repository, digest)."""
    repository = f"cli/{secrets.token_hex(4)}"
    tiny_image.upload(registry_client, repository)
    digest = ""
    for tag in ("latest", "1.0"):
        digest = registry_client.put_manifest(repository, tag, tiny_image.manifest())
    return repository, digest


def test_json_lists_repositories_tags_and_digests(run_labdock, pushed: tuple[str, str]) -> None:
    repository, digest = pushed
    result = run_labdock("catalog", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    document = json.loads(result.stdout)
    names = [repo["name"] for repo in document["repositories"]]
    assert names == sorted(names)
    entry = next(repo for repo in document["repositories"] if repo["name"] == repository)
    assert entry["tags"] == [
        {"tag": "1.0", "digest": digest},
        {"tag": "latest", "digest": digest},
    ]


def test_table_names_repository_and_tags(run_labdock, pushed: tuple[str, str]) -> None:
    repository, digest = pushed
    result = run_labdock("catalog")
    assert result.returncode == 0, result.stderr
    assert repository in result.stdout
    assert digest[:19] in result.stdout


def test_expect_passes_when_everything_matches(
    run_labdock, pushed: tuple[str, str], tmp_path: Path
) -> None:
    repository, digest = pushed
    expected = tmp_path / "expected.yml"
    expected.write_text(
        f"- {{repository: {repository}, tag: latest, digest: '{digest}'}}\n"
        f"- {{repository: {repository}, tag: '1.0'}}\n"
    )
    result = run_labdock("catalog", "--expect", str(expected))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_expect_names_missing_tag_and_wrong_digest(
    run_labdock, pushed: tuple[str, str], tmp_path: Path
) -> None:
    repository, digest = pushed
    wrong = "sha256:" + "0" * 64
    expected = tmp_path / "expected.json"
    expected.write_text(
        json.dumps(
            [
                {"repository": repository, "tag": "latest", "digest": digest},
                {"repository": repository, "tag": "2.0"},
                {"repository": repository, "tag": "1.0", "digest": wrong},
            ]
        )
    )
    junit = tmp_path / "catalog.xml"
    result = run_labdock("catalog", "--expect", str(expected), "--junit", str(junit))
    assert result.returncode == 1
    assert f"{repository}:2.0: missing" in result.stderr
    assert f"{repository}:1.0: digest differs: registry has {digest}, expected {wrong}" in (
        result.stderr
    )
    assert f"{repository}:latest" not in result.stderr
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("3", "2")


def test_stopped_registry_exits_2_with_one_line(registry: ThrowawayRegistry, run_labdock) -> None:
    registry.compose("stop")
    try:
        result = run_labdock("catalog")
    finally:
        registry.compose("up", "-d", "--wait")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"labdock: cannot reach {registry.url}/v2/_catalog")
