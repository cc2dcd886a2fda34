"""Requests lost while frontend_backend rolls out a new version: the stacks role's rollout
beside a plain `docker compose up -d` with the new image, in the same run.

Starts its own throwaway registry and pushes the frontend and backend images `make site`
built (`--frontend-image`, `--backend-image`) as version 1.0, plus a 1.1 that differs only by
a label (a new digest, the same app). Deploys two copies of the stack with the stacks role
(own project prefix, loopback ports, temp folders), then, under a steady request loop on
the frontend's published port (loopback only, bounded), rolls each copy to 1.1: one with the
role, one with `docker compose up -d`. Prints failed requests and the longest time without a
successful answer; asserts nothing. Cleans up what it started.
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
from tests.harness.registry import USER, ThrowawayRegistry, free_loopback_port

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
OLD, NEW = "1.0", "1.1"


@dataclass
class LoopStats:
    """Outcome of a request loop: (monotonic time, answered 200) per request."""

    samples: list[tuple[float, bool]] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(not ok for _, ok in self.samples)

    @property
    def longest_gap(self) -> float:
        """Longest time between two successful answers (failures in between included)."""
        times = [t for t, ok in self.samples if ok]
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


@contextmanager
def request_loop(url: str, interval: float, limit: float) -> Iterator[LoopStats]:
    """GET url every `interval` seconds until the block ends (at most `limit` seconds)."""
    stats = LoopStats()
    stop = threading.Event()
    session = requests.Session()

    def run() -> None:
        deadline = time.monotonic() + limit
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                ok = session.get(url, timeout=2).status_code == 200
            except requests.RequestException:
                ok = False
            stats.samples.append((time.monotonic(), ok))
            stop.wait(interval)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    try:
        yield stats
    finally:
        stop.set()
        worker.join(timeout=10)
        session.close()


def _run(command: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command[:3])} ... failed: {result.stdout[-2000:]}{result.stderr[-1000:]}"
        )
    return result


@dataclass
class Copy:
    """One deployment of frontend_backend by the stacks role."""

    name: str
    registry: str
    root: Path
    prefix: str = field(default_factory=lambda: f"labdock-bench-{secrets.token_hex(3)}-")
    ports: dict[str, int] = field(
        default_factory=lambda: {
            "stacks_frontend_port": free_loopback_port(),
            "stacks_backend_port": free_loopback_port(),
        }
    )

    @property
    def folder(self) -> Path:
        return self.root / "frontend_backend"

    @property
    def frontend_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['stacks_frontend_port']}/"

    def deploy(self, version: str) -> None:
        extra = {
            "stacks_enabled": ["frontend_backend"],
            "stacks_registry": self.registry,
            "stacks_project_prefix": self.prefix,
            "stacks_deploy_root": str(self.root),
            "stacks_secrets_dir": str(self.root / "secrets"),
            "stacks_bind_address": "127.0.0.1",
            "stacks_image_version": version,
            **self.ports,
        }
        env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg")}
        _run(
            [str(BIN / "ansible-playbook"), "playbooks/stacks.yml", "-e", json.dumps(extra)],
            cwd=REPO_ROOT,
            env=env,
            timeout=900,
        )

    def compose_up_new(self, version: str) -> None:
        """What a person does by hand: point .env at the new tags, `docker compose up -d`."""
        env_file = self.folder / ".env"
        lines = env_file.read_text(encoding="utf-8").splitlines()
        env_file.write_text(
            "\n".join(
                f"{line.split('=', 1)[0]}={version}"
                if line.split("=", 1)[0].endswith("_TAG")
                else line
                for line in lines
            )
            + "\n",
            encoding="utf-8",
        )
        _run(["docker", "compose", "up", "-d"], cwd=self.folder, timeout=300)

    def remove(self) -> None:
        if (self.folder / "compose.yaml").exists():
            subprocess.run(
                ["docker", "compose", "down", "-v", "--timeout", "5"],
                cwd=self.folder,
                capture_output=True,
                check=False,
            )


def _publish(client: docker.DockerClient, lab: ThrowawayRegistry, sources: dict[str, str]) -> None:
    """Push each source image as <name>:1.0 and a label-only variant as <name>:1.1."""
    auth = {"username": USER, "password": lab.settings.password}
    for name, source in sources.items():
        repository = f"{lab.address}/{name}"
        client.images.get(source).tag(repository, OLD)
        build_from_dockerfile(
            client,
            f"FROM {repository}:{OLD}\nLABEL labdock.bench.version={NEW}\n",
            f"{repository}:{NEW}",
        )
        for tag in (OLD, NEW):
            client.images.push(repository, tag=tag, auth_config=auth)


def _measure(
    copy: Copy, rollout: Callable[[], None], interval: float, limit: float
) -> dict[str, Any]:
    with request_loop(copy.frontend_url, interval, limit) as stats:
        time.sleep(2)  # a steady baseline before the rollout starts
        started = time.monotonic()
        rollout()
        duration = time.monotonic() - started
        time.sleep(2)
    return {
        "requests": len(stats.samples),
        "failed": stats.failed,
        "longest_gap_s": round(stats.longest_gap, 2),
        "rollout_s": round(duration, 1),
    }


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench rollout", description=__doc__)
    parser.add_argument("--frontend-image", default="localhost:5000/frontend:1.0")
    parser.add_argument("--backend-image", default="localhost:5000/backend:1.0")
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between requests")
    parser.add_argument("--limit", type=float, default=600, help="upper bound of each loop (s)")
    args = parser.parse_args(argv)

    with (
        contextlib.closing(docker.from_env()) as client,
        tempfile.TemporaryDirectory(prefix="labdock-bench-") as workdir,
        ThrowawayRegistry(Path(workdir) / "registry", project_prefix="labdock-bench") as lab,
    ):
        copies = [
            Copy(name, lab.address, Path(workdir) / name)
            for name in ("stacks role", "compose up -d")
        ]
        try:
            _run(
                ["docker", "login", lab.address, "-u", USER, "--password-stdin"],
                input=lab.settings.password,
            )
            _publish(client, lab, {"frontend": args.frontend_image, "backend": args.backend_image})
            for copy in copies:
                copy.deploy(OLD)
            role, plain = copies
            results = {
                role.name: _measure(role, lambda: role.deploy(NEW), args.interval, args.limit),
                plain.name: _measure(
                    plain, lambda: plain.compose_up_new(NEW), args.interval, args.limit
                ),
            }
        finally:
            for copy in copies:
                copy.remove()
            untag_under(client, lab.address)
    print(f"frontend_backend rollout {OLD} -> {NEW}, one GET every {args.interval}s on loopback")
    print(f"{'method':<16}{'requests':>10}{'failed':>8}{'longest gap (s)':>17}{'rollout (s)':>13}")
    for name, figures in results.items():
        print(
            f"{name:<16}{figures['requests']:>10}{figures['failed']:>8}"
            f"{figures['longest_gap_s']:>17}{figures['rollout_s']:>13}"
        )
    return 0
