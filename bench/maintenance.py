"""How the prune plan and garbage collection grow with the registry's size.

For each size (default 100 and 1,000 student repositories x 5 tags, plus the term's archive,
index and sibling repositories: tests/harness/term.py), in the same run, on a throwaway
registry of its own:
- prune plan: the walk `labdock prune --dry-run` makes (tags, manifests, configs for the
  creation time) and the decisions, with 16 workers and, as the baseline, with 1 worker;
- the prune itself (the deletes), then `registry garbage-collect --dry-run` and the real one,
  run in the registry container as the maintenance play runs them.
The growth column is each figure over the smallest size's: 10x repositories and a linear
cost give 10x. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import docker
from docker.models.containers import Container

from labdock.engine import disk_usage
from labdock.imagegraph import walk
from labdock.registry import RegistryClient
from labdock.retention import Protection, decide, deletions, rule_from_mapping
from labdock.tagdelete import Deletion, apply
from tests.harness.registry import ThrowawayRegistry
from tests.harness.term import fill_term

_T = TypeVar("_T")
POLICY = [
    {"repositories": "students/*", "keep_last": 2, "keep_tags": ["^latest$", "^[0-9.]+$"]},
    {"repositories": "archive/*", "older_than_days": 30},
    {"repositories": "multi/*", "keep_last": 1},
]
GC = ["registry", "garbage-collect", "/etc/docker/registry/config.yml"]


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench maintenance", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--bcrypt-rounds", type=int, default=5, help="htpasswd cost (deployed: 5)")
    args = parser.parse_args(argv)
    rows = [_measure(size, args.workers, args.bcrypt_rounds) for size in args.sizes]
    base = rows[0]
    print(f"\n{'repos':>6}{'tags':>7}  {'figure':<30}{'seconds':>9}{'growth':>9}")
    for row in rows:
        for name, seconds in row["times"].items():
            growth = seconds / base["times"][name]
            print(f"{row['repos']:>6}{row['tags']:>7}  {name:<30}{seconds:>9.2f}{growth:>8.1f}x")
    for row in rows:
        times = row["times"]
        print(
            f"{row['repos']} repositories: plan with {args.workers} workers is "
            f"{times['prune plan, 1 worker'] / times[f'prune plan, {args.workers} workers']:.1f}x "
            f"faster than with 1; {row['deleted']} tags deleted; GC freed "
            f"{row['freed'] / 1e6:.1f} MB on disk"
        )
    return 0


def _measure(students: int, workers: int, rounds: int) -> dict:
    with (
        tempfile.TemporaryDirectory(prefix="labdock-bench-") as workdir,
        ThrowawayRegistry(
            Path(workdir), project_prefix="labdock-bench", bcrypt_rounds=rounds
        ) as lab,
    ):
        with RegistryClient(lab.settings, pool_size=workers) as client:
            filled, refs = _timed(lambda: fill_term(client, students=students))
            print(f"{students} students: filled {len(refs)} tags in {filled:.1f}s")
            times: dict[str, float] = {}
            times[f"prune plan, {workers} workers"], planned = _timed(
                lambda: _plan(client, workers)
            )
            times["prune plan, 1 worker"], _ = _timed(lambda: _plan(client, 1))
            times["prune (deletes)"], _ = _timed(lambda: apply(client, planned, workers=workers))
        engine = docker.from_env()
        try:
            container = engine.containers.get(f"{lab.project}-registry-1")
            volume = engine.volumes.get(f"{lab.project}_registry_data").attrs["Mountpoint"]
            before = disk_usage(Path(volume))
            times["GC dry run"], _ = _timed(lambda: _exec(container, [*GC, "--dry-run"]))
            times["GC"], _ = _timed(lambda: _exec(container, GC))
            freed = before - disk_usage(Path(volume))
        finally:
            engine.close()
    deleted = len([d for d in planned if d.tag])
    return {
        "repos": len({r.split(":")[0] for r in refs}),
        "tags": len(refs),
        "times": times,
        "deleted": deleted,
        "freed": freed,
    }


def _plan(client: RegistryClient, workers: int) -> list[Deletion]:
    rules = [rule_from_mapping(rule, "bench policy") for rule in POLICY]
    names = [n for n in client.catalog() if any(rule.selects(n) for rule in rules)]
    graphs = walk(client, workers=workers, repositories=names, with_created=True)
    now = dt.datetime.now(dt.UTC)
    protection = Protection()
    return [d for g in graphs for d in deletions(g, decide(g, rules, protection, now), protection)]


def _exec(container: Container, command: list[str]) -> None:
    result = container.exec_run(command)
    if result.exit_code != 0:
        raise SystemExit(f"bench: {' '.join(command)} failed: {result.output.decode()[-500:]}")


def _timed(work: Callable[[], _T]) -> tuple[float, _T]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result
