"""What each repository holds: its tags, every manifest they reach (an index's platform
manifests included) and the blobs those manifests reference, with sizes. `usage`, `tag delete`
and `prune` all start from this walk.

Tag lists and manifests are independent requests, run on a thread pool sharing the client's
connection pool (as in catalog.py). Image configs (for the creation time) are fetched only on
request, once per config digest for the whole registry: the same config in 1,000
repositories is the same blob.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from labdock.errors import RegistryNotFound
from labdock.registry import Manifest, RegistryClient

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass
class RepositoryGraph:
    name: str
    # tag -> digest of the manifest it names
    tags: dict[str, str] = field(default_factory=dict)
    # every manifest reachable from the tags, by digest
    manifests: dict[str, Manifest] = field(default_factory=dict)
    # config digest -> image creation time (filled by `with_created`)
    created: dict[str, dt.datetime] = field(default_factory=dict)

    def tags_on(self, digest: str) -> list[str]:
        return sorted(tag for tag, target in self.tags.items() if target == digest)

    def blobs(self) -> dict[str, int]:
        """Every blob (config and layers) the repository's manifests reference, with size."""
        return {
            digest: size for manifest in self.manifests.values() for digest, size in manifest.blobs
        }

    def parents_of(self, digest: str) -> list[str]:
        """The indexes in this repository that list `digest` as a platform manifest."""
        return sorted(d for d, m in self.manifests.items() if digest in m.children)

    def created_at(self, digest: str) -> dt.datetime:
        """Creation time of the image a tag names: its config's `created`, or for an index
        the newest of its platform images'. Unknown counts as oldest."""
        manifest = self.manifests.get(digest)
        if manifest is None:
            return EPOCH
        if manifest.is_index:
            return max((self.created_at(child) for child in manifest.children), default=EPOCH)
        config = manifest.body.get("config") or {}
        return self.created.get(config.get("digest", ""), EPOCH)


class WalkProgress:
    """What a walk reports as it goes; the default says nothing."""

    def repositories_found(self, count: int) -> None:
        pass

    def repository_done(self) -> None:
        pass


def walk(
    client: RegistryClient,
    *,
    workers: int,
    repositories: Sequence[str] | None = None,
    with_created: bool = False,
    progress: WalkProgress | None = None,
) -> list[RepositoryGraph]:
    """Walk the given repositories (default: the whole catalog), sorted by name."""
    progress = progress or WalkProgress()
    names = sorted(client.catalog() if repositories is None else repositories)
    progress.repositories_found(len(names))

    def one(name: str) -> RepositoryGraph:
        graph = _walk_repository(client, name)
        progress.repository_done()
        return graph

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="labdock-walk") as pool:
        graphs = list(pool.map(one, names))
        if with_created:
            _load_created(client, graphs, pool.map)
    return graphs


def _walk_repository(client: RegistryClient, name: str) -> RepositoryGraph:
    # Sequential within a repository, parallel across them: a registry of many small
    # repositories (the lab's case) keeps every worker busy without nested pools.
    graph = RepositoryGraph(name)
    try:
        tags = client.tags(name)
    except RegistryNotFound:
        return graph
    for tag in tags:
        try:
            manifest = client.manifest(name, tag)
        except RegistryNotFound:
            continue  # deleted while we walk: the registry is shared
        graph.tags[tag] = manifest.digest
        _add(client, graph, manifest)
    return graph


def _add(client: RegistryClient, graph: RepositoryGraph, manifest: Manifest) -> None:
    if manifest.digest in graph.manifests:
        return
    graph.manifests[manifest.digest] = manifest
    for child in manifest.children:
        if child not in graph.manifests:
            try:
                _add(client, graph, client.manifest(graph.name, child))
            except RegistryNotFound:
                continue  # a broken index: usage still counts what is there


def _load_created(
    client: RegistryClient,
    graphs: Sequence[RepositoryGraph],
    mapper: Callable[..., Iterable[tuple[str, dt.datetime]]],
) -> None:
    where: dict[str, str] = {}  # config digest -> one repository that holds it
    for graph in graphs:
        for manifest in graph.manifests.values():
            config = manifest.body.get("config") or {}
            if "digest" in config:
                where.setdefault(config["digest"], graph.name)

    def fetch(item: tuple[str, str]) -> tuple[str, dt.datetime]:
        digest, repository = item
        try:
            return digest, parse_created(client.blob(repository, digest))
        except RegistryNotFound:
            return digest, EPOCH

    created = dict(mapper(fetch, where.items()))
    for graph in graphs:
        graph.created = created


def parse_created(config: bytes) -> dt.datetime:
    """The `created` time of an image config; EPOCH when absent or unreadable."""
    try:
        text = json.loads(config).get("created")
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, TypeError, AttributeError):
        return EPOCH
    # Go writes nanoseconds; fromisoformat (3.11) takes them. A naive time is UTC.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
