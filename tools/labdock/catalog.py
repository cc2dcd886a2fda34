"""Walk the whole registry: every repository, its tags, and each tag's manifest digest.

Listing repositories is a short paginated walk; the per-repository tag lists and per-tag
digest lookups are independent requests, so they run on a thread pool sharing the client's
connection pool. Results are sorted so output is stable whatever order answers arrive in.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Protocol

from labdock.errors import RegistryNotFound
from labdock.registry import RegistryClient


@dataclass(frozen=True, order=True)
class TagEntry:
    tag: str
    digest: str


@dataclass(frozen=True)
class Repository:
    name: str
    tags: tuple[TagEntry, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tags": [{"tag": t.tag, "digest": t.digest} for t in self.tags],
        }


class CatalogProgress(Protocol):
    def repositories_found(self, count: int) -> None: ...
    def tags_listed(self, count: int) -> None: ...
    def digest_resolved(self) -> None: ...


class _NoProgress:
    def repositories_found(self, count: int) -> None:
        pass

    def tags_listed(self, count: int) -> None:
        pass

    def digest_resolved(self) -> None:
        pass


def collect(
    client: RegistryClient, *, workers: int, progress: CatalogProgress | None = None
) -> list[Repository]:
    progress = progress or _NoProgress()
    repositories = client.catalog()
    progress.repositories_found(len(repositories))
    # With token auth: the pull rights of every repository in a few batched token requests,
    # rather than one token request per repository from the workers.
    client.prefetch_pull_tokens(repositories)
    digests: dict[str, dict[str, str]] = {repo: {} for repo in repositories}
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="labdock-catalog")
    try:
        tag_jobs = {pool.submit(_tags_or_none, client, repo): repo for repo in repositories}
        digest_jobs: dict[Future[str | None], tuple[str, str]] = {}
        for job in as_completed(tag_jobs):
            repo = tag_jobs[job]
            tags = job.result()
            progress.tags_listed(len(tags))
            for tag in tags:
                digest_jobs[pool.submit(_digest_or_none, client, repo, tag)] = (repo, tag)
        for job in as_completed(digest_jobs):
            digest = job.result()
            progress.digest_resolved()
            if digest is not None:
                repo, tag = digest_jobs[job]
                digests[repo][tag] = digest
    finally:
        # On the first failure, drop the queued requests instead of sending them all.
        pool.shutdown(wait=True, cancel_futures=True)
    return [
        Repository(repo, tuple(sorted(TagEntry(t, d) for t, d in digests[repo].items())))
        for repo in sorted(repositories)
    ]


# A repository whose tags were all deleted, or a tag deleted while we walk, is not an error:
# the catalog is a snapshot of a registry other people may be changing.
def _tags_or_none(client: RegistryClient, repo: str) -> list[str]:
    try:
        return client.tags(repo)
    except RegistryNotFound:
        return []


def _digest_or_none(client: RegistryClient, repo: str, tag: str) -> str | None:
    try:
        return client.manifest_digest(repo, tag)
    except RegistryNotFound:
        return None
