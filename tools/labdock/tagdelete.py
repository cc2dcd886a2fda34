"""Remove exactly the tags asked for, and nothing else.

distribution 2.8 deletes by digest only (a tag in a DELETE gives DIGEST_INVALID), and deleting
a digest removes every tag on it. So, per tag:
- when no other kept tag names its manifest and no kept index lists it, DELETE the digest:
  the manifest goes, and garbage collection can free its blobs;
- otherwise move the tag off the shared digest first, by PUTting a throwaway manifest (an
  empty OCI image with an annotation naming the tag and a nonce, so its digest is the tag's
  alone) under it, then DELETE that throwaway digest. The shared manifest and its other tags
  are untouched. The throwaway's only blob is the 2-byte empty config; GC frees it.
An index whose tags all go takes with it the platform manifests nothing else names.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from labdock.imagegraph import RepositoryGraph
from labdock.registry import OCI_MANIFEST, RegistryClient

EMPTY_CONFIG = b"{}"
EMPTY_CONFIG_DIGEST = "sha256:" + hashlib.sha256(EMPTY_CONFIG).hexdigest()
EMPTY_CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
UNTAG_ANNOTATION = "org.labdock.untag"

# How a deletion is done, as shown in plans.
DELETE_MANIFEST = "delete manifest"
UNTAG = "untag (digest shared)"
DELETE_CHILD = "delete platform manifest"


@dataclass(frozen=True)
class Deletion:
    repository: str
    tag: str | None  # None for an index's platform manifest
    digest: str
    method: str
    why: str = ""

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.tag}" if self.tag else f"{self.repository}@{self.digest}"

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


def plan(
    graph: RepositoryGraph, doomed: dict[str, str], protected: Iterable[str] = ()
) -> list[Deletion]:
    """How to remove the tags in `doomed` (tag -> why) from one repository, keeping every
    other tag, every manifest a kept index lists, and the `protected` digests."""
    kept_tags = {tag: digest for tag, digest in graph.tags.items() if tag not in doomed}
    alive = _reachable(graph, set(kept_tags.values()) | set(protected))
    deletions = []
    for digest in sorted({graph.tags[tag] for tag in doomed}):
        tags = [tag for tag in graph.tags_on(digest) if tag in doomed]
        if digest in alive:
            deletions += [Deletion(graph.name, t, digest, UNTAG, doomed[t]) for t in tags]
            continue
        # The first DELETE removes every tag on the digest; later tags are listed for the
        # report and need no request of their own.
        deletions += [Deletion(graph.name, t, digest, DELETE_MANIFEST, doomed[t]) for t in tags]
    gone = {graph.tags[tag] for tag in doomed} - alive
    for index in sorted(gone):
        for child in graph.manifests[index].children:
            if child not in alive and child in graph.manifests and child not in gone:
                gone.add(child)
                why = f"platform manifest of deleted index {index[:19]}"
                deletions.append(Deletion(graph.name, None, child, DELETE_CHILD, why))
    return deletions


def apply(client: RegistryClient, deletions: Sequence[Deletion], *, workers: int) -> None:
    """Carry out a plan. Untags go first: a DELETE of a digest must not race a PUT that is
    moving a sibling tag off it."""
    untags = [d for d in deletions if d.method == UNTAG]
    by_digest = {
        (d.repository, d.digest): d for d in deletions if d.method != UNTAG
    }  # one DELETE per digest, whatever the number of its tags
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="labdock-delete") as pool:
        list(pool.map(lambda d: untag(client, d.repository, d.tag or ""), untags))
        list(pool.map(lambda d: client.delete_manifest(d.repository, d.digest), by_digest.values()))


def untag(client: RegistryClient, repository: str, tag: str) -> None:
    """Remove one tag whose manifest must stay: point it at a throwaway manifest, then
    delete that."""
    if not client.blob_exists(repository, EMPTY_CONFIG_DIGEST):
        client.upload_blob(repository, EMPTY_CONFIG, EMPTY_CONFIG_DIGEST)
    placeholder = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": EMPTY_CONFIG_TYPE,
            "digest": EMPTY_CONFIG_DIGEST,
            "size": len(EMPTY_CONFIG),
        },
        "layers": [],
        "annotations": {UNTAG_ANNOTATION: f"{repository}:{tag} {secrets.token_hex(8)}"},
    }
    digest = client.put_manifest(repository, tag, placeholder)
    client.delete_manifest(repository, digest)


def _reachable(graph: RepositoryGraph, roots: set[str]) -> set[str]:
    """The roots and every platform manifest an index among them lists."""
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        digest = pending.pop()
        if digest in seen:
            continue
        seen.add(digest)
        manifest = graph.manifests.get(digest)
        if manifest is not None:
            pending.extend(manifest.children)
    return seen
