"""How fast `labdock catalog` walks a big registry, against a plain sequential client.

Starts its own throwaway registry (the registry role, as the test fixture, with htpasswd),
fills it with REPOS x TAGS tags by cross-repository mounts and manifest PUTs, then walks it twice:
- labdock: labdock.catalog.collect (one Session, connection pool, thread pool);
- sequential: one request at a time, each `requests.get`/`requests.head` without a session,
  so each pays a new TCP connection and TLS handshake.
Both must find the same catalog; the figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import requests

from labdock.catalog import collect
from labdock.config import Settings
from labdock.registry import MANIFEST_TYPES, PAGE_SIZE, RegistryClient
from tests.harness.populate import TinyImage, fill
from tests.harness.registry import ThrowawayRegistry

_T = TypeVar("_T")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench catalog", description=__doc__)
    parser.add_argument("--repos", type=int, default=1000)
    parser.add_argument("--tags", type=int, default=5)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument(
        "--bcrypt-rounds",
        type=int,
        default=5,
        help="htpasswd cost; the registry re-checks it on every request (default 5, as deployed)",
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="labdock-bench-") as workdir:
        started = time.perf_counter()
        # htpasswd: the sequential baseline sends Basic credentials with each request, as a
        # plain client of such a registry does (bench/auth compares tokens with htpasswd).
        with ThrowawayRegistry(
            Path(workdir),
            project_prefix="labdock-bench",
            bcrypt_rounds=args.bcrypt_rounds,
            auth="htpasswd",
        ) as lab:
            print(f"registry {lab.url} ({lab.image}) up in {time.perf_counter() - started:.1f}s")
            _fill(lab.settings, args.repos, args.tags, args.workers)
            _compare(lab.settings, args.repos, args.tags, args.workers)
    return 0


def _fill(settings: Settings, repos: int, tags: int, workers: int) -> None:
    names = [f"bench/r{i:05d}" for i in range(repos)]
    started = time.perf_counter()
    with RegistryClient(settings, pool_size=workers) as client:
        fill(client, TinyImage.make(), names, [f"t{i}" for i in range(tags)], workers=workers)
    print(f"filled {repos} repositories x {tags} tags in {time.perf_counter() - started:.1f}s")


def _compare(settings: Settings, repos: int, tags: int, workers: int) -> None:
    # Both walks send the same requests: catalog pages, one tag list per repository,
    # one manifest HEAD per tag.
    requests_sent = math.ceil((repos + 1) / PAGE_SIZE) + repos + repos * tags

    def with_labdock() -> dict[str, dict[str, str]]:
        with RegistryClient(settings, pool_size=workers) as client:
            found = collect(client, workers=workers)
        return {repo.name: {t.tag: t.digest for t in repo.tags} for repo in found}

    fast, fast_result = _timed(with_labdock)
    slow, slow_result = _timed(lambda: sequential_catalog(settings))
    if fast_result != slow_result:
        raise SystemExit("bench: the two clients disagree about the catalog")
    print(f"{'client':<12}{'wall s':>10}{'requests/s':>14}")
    for name, seconds in (("labdock", fast), ("sequential", slow)):
        print(f"{name:<12}{seconds:>10.2f}{requests_sent / seconds:>14.0f}")
    print(f"speed-up: {slow / fast:.1f}x ({requests_sent} requests, {workers} workers)")


def sequential_catalog(settings: Settings) -> dict[str, dict[str, str]]:
    """The plain client: no session, so every request opens its own connection."""
    options = {"auth": settings.credentials, "verify": settings.verify, "timeout": 30}
    repositories: list[str] = []
    url: str | None = f"{settings.url}/v2/_catalog?n={PAGE_SIZE}"
    while url:
        response = requests.get(url, **options)
        response.raise_for_status()
        repositories += response.json()["repositories"]
        following = response.links.get("next", {}).get("url")
        url = f"{settings.url}{following}" if following else None
    catalog: dict[str, dict[str, str]] = {}
    for repo in repositories:
        listed = requests.get(f"{settings.url}/v2/{repo}/tags/list?n={PAGE_SIZE}", **options)
        listed.raise_for_status()
        catalog[repo] = {}
        for tag in listed.json()["tags"] or []:
            head = requests.head(
                f"{settings.url}/v2/{repo}/manifests/{tag}",
                headers={"Accept": ", ".join(MANIFEST_TYPES)},
                **options,
            )
            head.raise_for_status()
            catalog[repo][tag] = head.headers["Docker-Content-Digest"]
    return catalog


def _timed(work: Callable[[], _T]) -> tuple[float, _T]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result
