"""site.yml on a room of throwaway hosts, as the tests and the room benchmark run it: this
machine is the registry host (connection local) with a registry of the test's own (temp state
dir, free port, own compose project, bound so the hosts reach it at their network's gateway),
never port 5000 or the real state dir; `close` removes that registry and the controller's trust
and login for it."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors

from tests.harness.docker_images import untag_under
from tests.harness.playbooks import group_vars
from tests.harness.registry import COMPOSE_BIN, DOCKER_CERTS_DIR, free_loopback_port, local_names
from tests.harness.room import Room

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PLAYBOOK_TIMEOUT = 1800
RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+:\s+(?P<counts>(?:\w+=\d+\s*)+)$")
# A stack's image reference in its compose file: `${REGISTRY...}/<repository>:${<NAME>_TAG...}`.
COMPOSE_IMAGE = re.compile(r"\}/(?P<repository>[\w.-]+):\$\{")


@dataclass
class PlaybookRun:
    returncode: int
    stdout: str
    seconds: float

    @property
    def recap(self) -> dict[str, dict[str, int]]:
        """PLAY RECAP counters per host."""
        _, _, tail = self.stdout.rpartition("PLAY RECAP")
        found = {}
        for line in tail.splitlines():
            match = RECAP_LINE.match(line.strip())
            if match:
                counts = dict(pair.split("=") for pair in match["counts"].split())
                found[match["host"]] = {key: int(value) for key, value in counts.items()}
        return found

    def fatal_lines(self, host: str) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith(f"fatal: [{host}]")]


@dataclass
class RoomSite:
    room: Room
    workdir: Path
    # The stacks the room deploys (all of labdock_stacks when None). What the room adds to a
    # one-machine lab (SSH, become, the CA, the login, pulls from the lab registry, status,
    # reset) is the same for every stack, and tests/e2e deploys all five: the room tests
    # deploy one and build only the course images it runs.
    stacks: tuple[str, ...] | None = None
    port: int = field(default_factory=free_loopback_port)
    token_port: int = field(default_factory=free_loopback_port)
    apt_cache_port: int = field(default_factory=free_loopback_port)
    runs: int = 0
    project: str = field(default_factory=lambda: f"labdock-test-room-{secrets.token_hex(3)}")

    @property
    def state_dir(self) -> Path:
        return self.workdir / "state"

    @property
    def deploy_dir(self) -> Path:
        return self.workdir / "registry"

    @property
    def inventory_path(self) -> Path:
        return self.workdir / "inventory" / "room.yml"

    @property
    def apt_cache_container(self) -> str:
        """The room's package cache (role apt_cache) of this test: one for the module."""
        return f"{self.project}-apt-cache"

    @property
    def controller_address(self) -> str:
        return f"localhost:{self.port}"

    @property
    def host_address(self) -> str:
        """The registry as the room's hosts reach it."""
        return f"{self.room.gateway}:{self.port}"

    def controller_vars(self) -> dict[str, Any]:
        """The controller's part: a registry of the test's own, and nothing that would touch
        the machine's shared engine settings or system CA store."""
        return {
            "registry_deploy_dir": str(self.deploy_dir),
            "registry_compose_project": self.project,
            "registry_ui_enabled": False,
            "docker_host_daemon_manage": False,
            "registry_trust_system_store": False,
            "apt_cache_container": self.apt_cache_container,
            "apt_cache_volume": self.apt_cache_container,
        }

    def write_inventory(self, host_vars: dict[str, dict[str, Any]] | None = None) -> Path:
        return self.room.write_inventory(
            self.inventory_path, registry_vars=self.controller_vars(), host_vars=host_vars
        )

    def stack_vars(self) -> dict[str, Any]:
        """labdock_stacks and labdock_images cut to `stacks`: the course images their compose
        files run (the base images they run are published by the images play anyway)."""
        if self.stacks is None:
            return {}
        repositories: set[str] = set()
        for stack in self.stacks:
            compose = (REPO_ROOT / "compose" / stack / "compose.yaml").read_text()
            repositories |= {match["repository"] for match in COMPOSE_IMAGE.finditer(compose)}
        images = [i for i in group_vars()["labdock_images"] if i["name"] in repositories]
        if not images:
            raise ValueError(f"no course image found in the compose files of {self.stacks}")
        return {"labdock_stacks": list(self.stacks), "labdock_images": images}

    def extra_vars(self) -> dict[str, Any]:
        return {
            "labdock_state_dir": str(self.state_dir),
            "labdock_registry_port": self.port,
            "labdock_registry_token_port": self.token_port,
            "labdock_apt_cache_port": self.apt_cache_port,
            **self.stack_vars(),
            # The course image's local name under the test registry's address, which close()
            # untags: never the controller's own python-course:3.11.
            "images_local_names": local_names(self.controller_address),
        }

    def start(
        self,
        playbook: str = "site.yml",
        *,
        limit: str | None = None,
        host_vars: dict[str, dict[str, Any]] | None = None,
    ) -> subprocess.Popen[str]:
        self.write_inventory(host_vars)
        command = [
            str(BIN / "ansible-playbook"),
            "-i",
            str(self.inventory_path),
            playbook,
            "-e",
            json.dumps(self.extra_vars()),
        ]
        if limit:
            command += ["--limit", limit]
        env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg")}
        return subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def run(self, playbook: str = "site.yml", **kwargs: Any) -> PlaybookRun:
        started = time.monotonic()
        process = self.start(playbook, **kwargs)
        try:
            stdout, _ = process.communicate(timeout=PLAYBOOK_TIMEOUT)
        finally:
            # A test timeout or interrupt must not leave the play running against the room.
            if process.poll() is None:
                process.kill()
                process.wait()
        return self.keep(PlaybookRun(process.returncode, stdout, time.monotonic() - started))

    def keep(self, run: PlaybookRun) -> PlaybookRun:
        """Keep the run's whole output (with profile_tasks' timings) in the work folder, for
        reading after a failure or a slow run: run-1.log, run-2.log, ..."""
        self.runs += 1
        (self.workdir / f"run-{self.runs}.log").write_text(
            f"{run.seconds:.0f} s, rc {run.returncode}\n{run.stdout}", encoding="utf-8"
        )
        return run

    def labdock(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "LABDOCK_CONFIG": str(self.state_dir / "client.json")}
        return subprocess.run(
            [str(BIN / "labdock"), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )

    def apt_cache_log(self) -> str:
        """apt-cacher-ng's transfer log: `time|I|bytes|client|file` per download from the
        mirror, `time|O|bytes|client|file` per delivery to a host."""
        client = docker.from_env()
        try:
            container = client.containers.get(self.apt_cache_container)
            code, out = container.exec_run(["cat", "/var/log/apt-cacher-ng/apt-cacher.log"])
        finally:
            client.close()
        if code != 0:
            raise RuntimeError(f"reading the package cache's log failed: {out.decode()}")
        return out.decode()

    def close(self) -> None:
        """Remove the test registry, the package cache, their trust and login on the
        controller, and the course image tags the images play made for it."""
        if (self.deploy_dir / "compose.yaml").exists():
            subprocess.run(
                [
                    str(COMPOSE_BIN),
                    "-p",
                    self.project,
                    "--project-directory",
                    str(self.deploy_dir),
                    "down",
                    "-v",
                    "--remove-orphans",
                ],
                capture_output=True,
                check=False,
            )
        client = docker.from_env()
        try:
            with contextlib.suppress(docker.errors.NotFound):
                client.containers.get(self.apt_cache_container).remove(force=True)
            with contextlib.suppress(docker.errors.NotFound):
                client.volumes.get(self.apt_cache_container).remove(force=True)
        finally:
            client.close()
        shutil.rmtree(DOCKER_CERTS_DIR / self.controller_address, ignore_errors=True)
        subprocess.run(["docker", "logout", self.controller_address], capture_output=True)
        client = docker.from_env()
        try:
            untag_under(client, self.controller_address)
        finally:
            client.close()
