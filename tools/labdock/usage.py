"""Space per repository: tags, distinct manifests, and the bytes its manifests reference.
A blob referenced from several repositories is stored once: the total counts it once, and
each repository shows how much of its bytes are such shared blobs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from labdock.imagegraph import RepositoryGraph


@dataclass(frozen=True)
class RepositoryUsage:
    name: str
    tags: int
    manifests: int
    bytes: int
    shared_bytes: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Usage:
    repositories: tuple[RepositoryUsage, ...]
    total_bytes: int  # every distinct blob once
    shared_bytes: int  # the part of total_bytes in blobs more than one repository references

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(graphs: Sequence[RepositoryGraph]) -> Usage:
    """Per-repository usage, largest first (then by name, for a stable order)."""
    blobs_of = {graph.name: graph.blobs() for graph in graphs}
    holders = Counter(digest for blobs in blobs_of.values() for digest in blobs)
    sizes = {digest: size for blobs in blobs_of.values() for digest, size in blobs.items()}
    rows = [
        RepositoryUsage(
            name=graph.name,
            tags=len(graph.tags),
            manifests=len(graph.manifests),
            bytes=sum(blobs_of[graph.name].values()),
            shared_bytes=sum(s for d, s in blobs_of[graph.name].items() if holders[d] > 1),
        )
        for graph in graphs
    ]
    rows.sort(key=lambda r: (-r.bytes, r.name))
    return Usage(
        repositories=tuple(rows),
        total_bytes=sum(sizes.values()),
        shared_bytes=sum(s for d, s in sizes.items() if holders[d] > 1),
    )


def human_bytes(count: int) -> str:
    if count < 1000:
        return f"{count} B"
    value = count / 1000
    for unit in ("kB", "MB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"
