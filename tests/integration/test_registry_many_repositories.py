"""More repositories than one catalog page holds (the registry caps a page at 1000): the
CLI follows the Link header and lists every one."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from labdock.registry import RegistryClient
from tests.harness.populate import TinyImage, fill
from tests.harness.registry import ThrowawayRegistry

pytestmark = pytest.mark.integration

REPOSITORY_COUNT = 1005


@pytest.fixture(scope="module")
def crowded_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThrowawayRegistry]:
    """A registry of its own: a thousand repositories would slow every later catalog walk
    on the shared one, and the registry cannot forget a repository short of a GC."""
    with ThrowawayRegistry(tmp_path_factory.mktemp("crowded")) as lab:
        yield lab


def test_catalog_lists_more_than_a_page(
    crowded_registry: ThrowawayRegistry, tiny_image: TinyImage, run_labdock
) -> None:
    repositories = [f"many/r{i:04d}" for i in range(REPOSITORY_COUNT)]
    with RegistryClient(crowded_registry.settings) as client:
        digest = fill(client, tiny_image, repositories, ["1"])
    result = run_labdock("catalog", "--json", env=crowded_registry.cli_env())
    assert result.returncode == 0, result.stderr
    listed = {repo["name"]: repo["tags"] for repo in json.loads(result.stdout)["repositories"]}
    assert sorted(listed) == repositories
    assert all(tags == [{"tag": "1", "digest": digest}] for tags in listed.values())
