"""How the prune plan and the garbage-collection window grow with the registry's size, and
how long pushes are refused.

For each size (default 100 and 1,000 student repositories x 5 tags, plus the term's archive,
index and sibling repositories: tests/harness/term.py), in the same run, on a throwaway
registry of its own (the registry role, token auth):
- prune plan: the walk `labdock prune --dry-run` makes (tags, manifests, configs for the
  creation time) and the decisions, with 16 workers and, as the baseline, with 1 worker;
- the prune itself (the deletes), then `registry garbage-collect --dry-run`;
- the GC window as the maintenance play runs it: restart read-only (compose.readonly.yaml),
  `registry garbage-collect`, restart read-write, while a client pushes a tiny image every
  0.1 s: how long the window lasted, and how long pushes were refused (first to last
  refused or failed push), with the counts.
The growth column is each figure over the smallest size's: 10x repositories and a linear
cost give 10x. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import docker
from docker.models.containers import Container

from labdock.engine import disk_usage
from labdock.errors import LabdockError, RegistryReadOnly
from labdock.imagegraph import walk
from labdock.registry import RegistryClient
from labdock.retention import Protection, decide, deletions, rule_from_mapping
from labdock.tagdelete import Deletion, apply
from tests.harness.populate import TinyImage
from tests.harness.registry import ThrowawayRegistry
from tests.harness.term import fill_term

_T = TypeVar("_T")
POLICY = [
    {"repositories": "students/*", "keep_last": 1, "keep_tags": ["^latest$", "^[0-9.]+$"]},
    {"repositories": "archive/*", "older_than_days": 30},
    {"repositories": "multi/*", "keep_last": 1},
]
GC = ["registry", "garbage-collect", "/etc/docker/registry/config.yml"]
# The files the maintenance play starts the registry with for its read-only window.
READ_ONLY = ("-f", "compose.yaml", "-f", "compose.readonly.yaml")
PUSH_EVERY = 0.1


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench maintenance", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--bcrypt-rounds", type=int, default=5, help="htpasswd cost (deployed: 5)")
    args = parser.parse_args(argv)
    rows = [_measure(size, args.workers, args.bcrypt_rounds) for size in args.sizes]
    base = rows[0]
    print(f"\n{'repos':>6}{'tags':>7}  {'figure':<34}{'seconds':>9}{'growth':>9}")
    for row in rows:
        for name, seconds in row["times"].items():
            growth = seconds / base["times"][name]
            print(f"{row['repos']:>6}{row['tags']:>7}  {name:<34}{seconds:>9.2f}{growth:>8.1f}x")
    for row in rows:
        times, pushes = row["times"], row["pushes"]
        print(
            f"{row['repos']} repositories: plan with {args.workers} workers is "
            f"{times['prune plan, 1 worker'] / times[f'prune plan, {args.workers} workers']:.1f}x "
            f"faster than with 1; {row['deleted']} tags deleted; GC freed "
            f"{row['freed'] / 1e6:.1f} MB on disk; window {times['GC window (read-only)']:.1f}s: "
            f"pushes refused for {pushes.refused_seconds:.1f}s ({pushes.refused} refused with "
            f"the maintenance line, {pushes.failed} failed while it restarted, "
            f"{pushes.accepted} accepted)"
        )
    last, first = rows[-1], rows[0]
    for name in (f"prune plan, {args.workers} workers", "GC window (read-only)"):
        print(
            f"{name}: {last['times'][name] / first['times'][name]:.1f}x the time for "
            f"{last['repos'] / first['repos']:.1f}x the repositories"
        )
    return 0


@dataclass
class Pusher:
    """A client pushing a tiny image every PUSH_EVERY seconds, each under a new tag, and
    what the registry answered."""

    client: RegistryClient
    refused: int = 0
    failed: int = 0
    accepted: int = 0
    refused_at: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        image = TinyImage.make("pushed during maintenance\n")
        image.upload(self.client, "window/pushes")
        number = 0
        while not self._stop.wait(PUSH_EVERY):
            number += 1
            try:
                self.client.put_manifest("window/pushes", f"p{number}", image.manifest())
                self.accepted += 1
            except RegistryReadOnly:
                self.refused += 1
                self.refused_at.append(time.perf_counter())
            except LabdockError:  # the registry restarting: no answer, or 502/503
                self.failed += 1
                self.refused_at.append(time.perf_counter())

    @property
    def refused_seconds(self) -> float:
        return self.refused_at[-1] - self.refused_at[0] if self.refused_at else 0.0

    def stop(self) -> None:
        self._stop.set()


def _measure(students: int, workers: int, rounds: int) -> dict:
    with (
        tempfile.TemporaryDirectory(prefix="labdock-bench-") as workdir,
        ThrowawayRegistry(
            Path(workdir), project_prefix="labdock-bench", bcrypt_rounds=rounds
        ) as lab,
    ):
        with RegistryClient(lab.settings, pool_size=workers) as client:
            filled, refs = _timed(lambda: fill_term(client, students=students, workers=workers))
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
            with RegistryClient(lab.settings) as student:
                pusher = Pusher(student)
                thread = threading.Thread(target=pusher.run, daemon=True)
                thread.start()
                time.sleep(1)  # a few accepted pushes first
                times["GC window (read-only)"], _ = _timed(lambda: _gc_window(lab))
                time.sleep(1)
                pusher.stop()
                thread.join(timeout=30)
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
        "pushes": pusher,
    }


def _plan(client: RegistryClient, workers: int) -> list[Deletion]:
    rules = [rule_from_mapping(rule, "bench policy") for rule in POLICY]
    names = [n for n in client.catalog() if any(rule.selects(n) for rule in rules)]
    graphs = walk(client, workers=workers, repositories=names, with_created=True)
    now = dt.datetime.now(dt.UTC)
    protection = Protection()
    return [d for g in graphs for d in deletions(g, decide(g, rules, protection, now), protection)]


def _gc_window(lab: ThrowawayRegistry) -> None:
    """The maintenance play's window: read-only, collect, read-write (each restart waits
    for the health check, as the play's docker_compose_v2 `wait` does)."""
    lab.compose(*READ_ONLY, "up", "-d", "--wait", "registry")
    try:
        # The container was recreated read-only: exec in the new one.
        engine = docker.from_env()
        try:
            _exec(engine.containers.get(f"{lab.project}-registry-1"), GC)
        finally:
            engine.close()
    finally:
        lab.compose("up", "-d", "--wait", "registry")


def _exec(container: Container, command: list[str]) -> None:
    result = container.exec_run(command)
    if result.exit_code != 0:
        raise SystemExit(f"bench: {' '.join(command)} failed: {result.output.decode()[-500:]}")


def _timed(work: Callable[[], _T]) -> tuple[float, _T]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result
