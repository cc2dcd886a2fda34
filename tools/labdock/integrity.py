"""Is every expected tag still whole? Its manifest, an index's platform manifests and every
blob they reference must answer 200: what a pull needs. Run after garbage collection."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from labdock.checks import CheckResult
from labdock.errors import RegistryNotFound
from labdock.expect import Expectation
from labdock.registry import RegistryClient


def check_blobs(
    client: RegistryClient, expected: Sequence[Expectation], *, workers: int
) -> list[CheckResult]:
    def one(item: Expectation) -> CheckResult:
        reference = item.digest or item.tag
        try:
            missing = _missing(client, item.repository, reference)
        except RegistryNotFound:
            return CheckResult(f"{item.ref} blobs", False, f"manifest {reference} is gone")
        if missing:
            return CheckResult(f"{item.ref} blobs", False, f"missing: {', '.join(missing)}")
        return CheckResult(f"{item.ref} blobs", True, "manifest and every blob answer 200")

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="labdock-blobs") as pool:
        return list(pool.map(one, expected))


def _missing(client: RegistryClient, repository: str, reference: str) -> list[str]:
    manifest = client.manifest(repository, reference)
    missing = []
    for child in manifest.children:
        try:
            missing += _missing(client, repository, child)
        except RegistryNotFound:
            missing.append(child)
    missing += [d for d, _ in manifest.blobs if not client.blob_exists(repository, d)]
    return missing
