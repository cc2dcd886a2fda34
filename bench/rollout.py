"""Requests lost while each HTTP stack rolls out a new version, three ways in the same run:
the stacks role (a proxy in front, blue/green), the stacks role before the proxy (git
BASELINE: in-place recreate behind the health gate), and a plain `docker compose up -d` with
the new tags (today's compose files, no gate).

Starts its own throwaway registry, builds the HTTP stacks' apps into it with the images role
(version 1.0) and pushes a 1.1 of each that differs only by a label (a new digest, the same
app), plus the nginx and PostgreSQL bases. Then, one stack and one way at a time (own project
prefix, loopback ports, temp folders): deploy 1.0, run a request loop on the stack's published
URLs (at least --requests requests, and for as long as the update runs, bounded by --limit
seconds), update to 1.1, remove the copy. Prints failed requests, the longest time without a
successful answer and the rollout time; asserts nothing. Cleans up what it started.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import secrets
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import requests

from tests.harness.docker_images import build_from_dockerfile, untag_under
from tests.harness.playbooks import group_vars
from tests.harness.registry import USER, ThrowawayRegistry, free_loopback_port

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# The lab's version tag (what the images play pushes), and a bench version beside it.
OLD, NEW = str(group_vars()["labdock_images_version"]), "1.1"
# The last commit whose stacks role updated containers in place (before the proxy).
BASELINE = "7e2b53c"
BASELINE_PATHS = [
    "ansible.cfg",
    "inventory",
    "playbooks",
    "roles",
    "compose",
    "apps/student_age/data",
]

# What each HTTP stack publishes (its stacks role port variables) and the URLs the loop asks,
# as (port variable, path); the course apps each stack needs from the images role.
STACKS: dict[str, dict[str, Any]] = {
    "frontend_backend": {
        "ports": ["stacks_frontend_port", "stacks_backend_port"],
        "urls": [("stacks_frontend_port", "/"), ("stacks_backend_port", "/")],
        "apps": ["frontend", "backend"],
    },
    "student_list": {
        "ports": ["stacks_student_age_port", "stacks_student_website_port"],
        "urls": [("stacks_student_website_port", "/"), ("stacks_student_age_port", "/healthcheck")],
        "apps": ["student_age", "student_website"],
    },
    "website": {
        "ports": ["stacks_website_port"],
        "urls": [("stacks_website_port", "/healthcheck")],
        "apps": ["website"],
    },
    "simple_api": {
        "ports": ["stacks_simple_api_port"],
        "urls": [("stacks_simple_api_port", "/health")],
        "apps": ["simple-api"],
    },
}
METHODS = ("stacks role (proxy)", f"stacks role @{BASELINE}", "compose up -d")


@dataclass
class LoopStats:
    """Outcome of a request loop: (monotonic time, answered 200) per request, and what each
    failed request got (a status or the error), with its time."""

    samples: list[tuple[float, bool]] = field(default_factory=list)
    failures: list[tuple[float, str]] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(not ok for _, ok in self.samples)

    @property
    def longest_gap(self) -> float:
        """Longest time between two successful answers (failures in between included)."""
        times = [t for t, ok in self.samples if ok]
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


@contextmanager
def request_loop(
    urls: Sequence[str], interval: float, minimum: int, limit: float
) -> Iterator[LoopStats]:
    """GET the urls in turn every `interval` seconds while the block runs, and on until at
    least `minimum` requests were sent; never longer than `limit` seconds in all."""
    stats = LoopStats()
    block_done = threading.Event()
    session = requests.Session()

    def run() -> None:
        deadline = time.monotonic() + limit
        for url in itertools.cycle(urls):
            if time.monotonic() > deadline or (
                block_done.is_set() and len(stats.samples) >= minimum
            ):
                return
            try:
                status = session.get(url, timeout=2).status_code
                ok, detail = status == 200, f"HTTP {status}"
            except requests.RequestException as exc:
                ok, detail = False, f"{type(exc).__name__}: {str(exc)[-120:]}"
            now = time.monotonic()
            stats.samples.append((now, ok))
            if not ok:
                stats.failures.append((now, f"{url}: {detail}"))
            time.sleep(interval)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    try:
        yield stats
    finally:
        block_done.set()
        worker.join(timeout=limit + 10)
        session.close()


def _run(command: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command[:3])} ... failed: {result.stdout[-3000:]}{result.stderr[-1000:]}"
        )
    return result


def _playbook(checkout: Path, playbook: str, extra: dict[str, Any], log: Path) -> None:
    """ansible-playbook in a checkout; its whole output goes to `log` (kept after the run)."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(checkout / "ansible.cfg")}
    result = subprocess.run(
        [str(BIN / "ansible-playbook"), playbook, "-e", json.dumps(extra)],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    log.write_text(result.stdout + result.stderr, encoding="utf-8")
    if result.returncode != 0:
        raise RuntimeError(f"{playbook} failed, see {log}")


def baseline_checkout(into: Path) -> Path:
    """The repository files the baseline role needs, as they were at BASELINE."""
    archive = into.with_suffix(".tar")
    _run(["git", "-C", str(REPO_ROOT), "archive", "-o", str(archive), BASELINE, *BASELINE_PATHS])
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into


@dataclass
class Copy:
    """One deployment of one stack by one checkout's stacks role."""

    stack: str
    registry: str
    root: Path
    checkout: Path
    logs: Path
    prefix: str = field(default_factory=lambda: f"labdock-bench-{secrets.token_hex(3)}-")
    ports: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ports = {name: free_loopback_port() for name in STACKS[self.stack]["ports"]}

    @property
    def folder(self) -> Path:
        return self.root / self.stack

    @property
    def urls(self) -> list[str]:
        return [
            f"http://127.0.0.1:{self.ports[port]}{path}"
            for port, path in STACKS[self.stack]["urls"]
        ]

    def deploy(self, version: str) -> None:
        log = self.logs / f"{self.stack}-{self.root.name}-{version}.log"
        _playbook(
            self.checkout,
            "playbooks/stacks.yml",
            {
                "stacks_enabled": [self.stack],
                "stacks_registry": self.registry,
                "stacks_project_prefix": self.prefix,
                "stacks_deploy_root": str(self.root),
                "stacks_secrets_dir": str(self.root / "secrets"),
                "stacks_bind_address": "127.0.0.1",
                "stacks_image_version": version,
                **self.ports,
            },
            log,
        )

    def compose_up_new(self, version: str) -> None:
        """What a person does by hand: point .env at the new tags, `docker compose up -d`."""
        env_file = self.folder / ".env"
        lines = env_file.read_text(encoding="utf-8").splitlines()
        new = [
            f"{line.split('=', 1)[0]}={version}"
            if line.split("=", 1)[0].endswith("_TAG") and not line.startswith("POSTGRES")
            else line
            for line in lines
        ]
        env_file.write_text("\n".join(new) + "\n", encoding="utf-8")
        _run(["docker", "compose", "up", "-d"], cwd=self.folder, timeout=300)

    def remove(self) -> None:
        if (self.folder / "compose.yaml").exists():
            subprocess.run(
                ["docker", "compose", "down", "-v", "--timeout", "5"],
                cwd=self.folder,
                capture_output=True,
                check=False,
            )


def _publish_new_versions(
    client: docker.DockerClient, lab: ThrowawayRegistry, apps: Sequence[str]
) -> None:
    """Push each app's 1.0 again as 1.1 with one more label: a new digest, the same app."""
    auth = {"username": USER, "password": lab.settings.password}
    for name in apps:
        repository = f"{lab.address}/{name}"
        build_from_dockerfile(
            client,
            f"FROM {repository}:{OLD}\nLABEL labdock.bench.version={NEW}\n",
            f"{repository}:{NEW}",
        )
        client.images.push(repository, tag=NEW, auth_config=auth)


def _measure(copy: Copy, rollout: Callable[[], None], args: argparse.Namespace) -> dict[str, Any]:
    with request_loop(copy.urls, args.interval, args.requests, args.limit) as stats:
        time.sleep(1)  # a steady baseline before the rollout starts
        started = time.monotonic()
        rollout()
        duration = time.monotonic() - started
    return {
        "requests": len(stats.samples),
        "failed": stats.failed,
        "longest_gap_s": round(stats.longest_gap, 2),
        "rollout_s": round(duration, 1),
        # When (seconds into the rollout) and how the first few requests failed.
        "failures": [f"+{t - started:.1f}s {what}" for t, what in stats.failures[:3]],
    }


def _one_stack(
    stack: str, lab: ThrowawayRegistry, workdir: Path, baseline: Path, args: argparse.Namespace
) -> dict[str, dict[str, Any]]:
    copies = {
        METHODS[0]: Copy(stack, lab.address, workdir / "proxy", REPO_ROOT, args.logs),
        METHODS[1]: Copy(stack, lab.address, workdir / "baseline-role", baseline, args.logs),
        METHODS[2]: Copy(stack, lab.address, workdir / "compose", baseline, args.logs),
    }
    results = {}
    for method, copy in copies.items():
        if method not in args.methods:
            continue
        try:
            copy.deploy(OLD)
            if method == METHODS[2]:
                results[method] = _measure(copy, lambda c=copy: c.compose_up_new(NEW), args)
            else:
                results[method] = _measure(copy, lambda c=copy: c.deploy(NEW), args)
        except RuntimeError as exc:
            # Reported in the table; the other methods and stacks still run.
            results[method] = {"error": str(exc)}
        finally:
            copy.remove()
        _print_row(stack, method, results[method])
    return results


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench rollout", description=__doc__)
    parser.add_argument("--stacks", nargs="+", choices=list(STACKS), default=list(STACKS))
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between requests")
    parser.add_argument("--requests", type=int, default=500, help="at least this many per loop")
    parser.add_argument("--limit", type=float, default=600, help="upper bound of each loop (s)")
    parser.add_argument(
        "--logs", type=Path, help="folder for the playbooks' output (default: a new temp folder)"
    )
    args = parser.parse_args(argv)
    args.logs = args.logs or Path(tempfile.mkdtemp(prefix="labdock-bench-rollout-logs-"))
    args.logs.mkdir(parents=True, exist_ok=True)
    apps = [app for stack in args.stacks for app in STACKS[stack]["apps"]]

    print(f"rollout {OLD} -> {NEW} of each HTTP stack, one GET every {args.interval}s on loopback")
    print(f"playbook output: {args.logs}")
    header = f"{'stack':<18}{'method':<26}{'requests':>9}{'failed':>8}{'longest gap (s)':>17}"
    print(header + f"{'rollout (s)':>13}", flush=True)
    with (
        contextlib.closing(docker.from_env()) as client,
        tempfile.TemporaryDirectory(prefix="labdock-bench-") as workdir,
        ThrowawayRegistry(Path(workdir) / "registry", project_prefix="labdock-bench") as lab,
    ):
        try:
            baseline = baseline_checkout(Path(workdir) / "baseline")
            all_apps = {app["name"]: app for app in _course_apps()}
            _playbook(
                REPO_ROOT,
                "playbooks/images.yml",
                {
                    **lab.images_play_vars(Path(workdir)),
                    "images_apps": [all_apps[name] for name in apps],
                },
                args.logs / "images.log",
            )
            _publish_new_versions(client, lab, apps)
            for stack in args.stacks:
                _one_stack(stack, lab, Path(workdir) / stack, baseline, args)
        finally:
            untag_under(client, lab.address)
    return 0


def _print_row(stack: str, method: str, figures: dict[str, Any]) -> None:
    if "error" in figures:
        print(f"{stack:<18}{method:<26}  {figures['error']}", flush=True)
        return
    print(
        f"{stack:<18}{method:<26}{figures['requests']:>9}{figures['failed']:>8}"
        f"{figures['longest_gap_s']:>17}{figures['rollout_s']:>13}",
        flush=True,
    )
    for failure in figures["failures"]:
        print(f"{'':<18}  failed {failure}", flush=True)


def _course_apps() -> list[dict[str, Any]]:
    """The lab's app list (group_vars `labdock_images`, which the images role reads), to
    build only what the stacks need."""
    return group_vars()["labdock_images"]
