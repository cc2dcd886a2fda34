"""Throwaway lab hosts: N Debian bookworm machines run as containers (systemd as PID 1, sshd
with key auth only and their own host keys, python3, no Docker), on a network of their own,
each with its SSH port published on a loopback port; and the Ansible inventory that names them.

Used by the room tests, the room benchmark and `make room-up` / `make room-down`:

    python -m tests.harness.room up --hosts 3 --dir .room     # writes .room/inventory.yml
    python -m tests.harness.room down --dir .room
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import shlex
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import yaml

from tests.harness.lifecycle import Throwaway

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
IMAGE = "labdock/labhost:latest"
IMAGE_PLAYBOOK = Path(__file__).with_name("labhost_image.yml")
STATE_FILE = "room.json"
SSH_WAIT_SECONDS = 90
# The README's example inventory: its lab hosts' settings (the admin account, sudo through
# `become`, the interpreter) are the ones the room is reached with; the image has that account.
EXAMPLE_INVENTORY = REPO_ROOT / "inventory" / "lab.example.yml"

# This engine refuses --privileged (its bounding set lacks CAP_SYS_RESOURCE): everything else
# systemd and a nested dockerd need, with /sys and the cgroup hierarchies remounted read-write
# by the image's entry script.
# The docker CLI runs them: the SDK cannot say systempaths=unconfined (the CLI turns it into
# empty MaskedPaths and ReadonlyPaths).
HOST_RUN_OPTIONS = [
    "--cap-add=ALL",
    "--cap-drop=SYS_RESOURCE",
    "--security-opt=seccomp=unconfined",
    "--security-opt=systempaths=unconfined",
    "--cgroupns=private",
    "--tmpfs=/run",
    "--tmpfs=/run/lock",
    "--tmpfs=/tmp",
]


@dataclass
class RoomHost:
    name: str
    container: str
    volume: str
    ssh_port: int = 0


@dataclass
class Room(Throwaway):
    """A room of throwaway hosts; `start` creates it, `close` removes every part of it."""

    workdir: Path
    size: int
    prefix: str = field(default_factory=lambda: f"labdock-room-{secrets.token_hex(3)}")
    hosts: list[RoomHost] = field(default_factory=list)
    gateway: str = ""

    @property
    def network(self) -> str:
        return f"{self.prefix}-net"

    @property
    def key_file(self) -> Path:
        return self.workdir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.workdir / "known_hosts"

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        ensure_image()
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.key_file.exists():
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key_file)],
                check=True,
            )
        client = docker.from_env()
        try:
            network = client.networks.create(self.network, driver="bridge")
            network.reload()
            self.gateway = network.attrs["IPAM"]["Config"][0]["Gateway"]
            public_key = self.key_file.with_suffix(".pub").read_text(encoding="utf-8").strip()
            for index in range(1, self.size + 1):
                host = RoomHost(
                    name=f"pc{index:02d}",
                    container=f"{self.prefix}-pc{index:02d}",
                    volume=f"{self.prefix}-pc{index:02d}-docker",
                )
                self.hosts.append(host)
                self.save()
                client.volumes.create(host.volume)
                subprocess.run(
                    [
                        "docker",
                        "run",
                        "--detach",
                        "--quiet",
                        f"--name={host.container}",
                        f"--hostname={host.name}",
                        f"--network={self.network}",
                        f"--env=LABHOST_AUTHORIZED_KEY={public_key}",
                        # overlay2 cannot sit on the container's own overlay root.
                        f"--volume={host.volume}:/var/lib/docker",
                        "--publish=127.0.0.1::22",
                        *HOST_RUN_OPTIONS,
                        IMAGE,
                    ],
                    check=True,
                    capture_output=True,
                )
            for host in self.hosts:
                self._wait_for_ssh(client, host)
        finally:
            client.close()
        self.save()

    def close(self) -> None:
        client = docker.from_env()
        try:
            for host in self.hosts:
                _ignore_missing(
                    lambda h=host: client.containers.get(h.container).remove(force=True)
                )
                _ignore_missing(lambda h=host: client.volumes.get(h.volume).remove(force=True))
            _ignore_missing(lambda: client.networks.get(self.network).remove())
        finally:
            client.close()
        (self.workdir / STATE_FILE).unlink(missing_ok=True)

    # -- one host ----------------------------------------------------------------------------

    def host(self, name: str) -> RoomHost:
        return next(h for h in self.hosts if h.name == name)

    def stop_host(self, name: str) -> None:
        subprocess.run(["docker", "stop", "-t", "2", self.host(name).container], check=True)

    def start_host(self, name: str) -> None:
        """Start a stopped host again; it keeps its keys and its /var/lib/docker volume."""
        host = self.host(name)
        subprocess.run(["docker", "start", host.container], check=True)
        client = docker.from_env()
        try:
            self._wait_for_ssh(client, host)
        finally:
            client.close()
        self.save()

    def ssh(self, name: str, command: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """Run a shell command as root on the host: logged in as the example's admin, through
        sudo, as a teacher would (root cannot log in)."""
        host = self.host(name)
        login = f"{example_host_vars()['ansible_user']}@127.0.0.1"
        as_root = f"sudo -n sh -c {shlex.quote(command)}"
        return subprocess.run(
            ["ssh", *self.ssh_options(), "-p", str(host.ssh_port), login, as_root],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def ssh_options(self) -> list[str]:
        return [
            "-i",
            str(self.key_file),
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
        ]

    def _wait_for_ssh(self, client: docker.DockerClient, host: RoomHost) -> None:
        container = client.containers.get(host.container)
        host.ssh_port = int(container.ports["22/tcp"][0]["HostPort"])
        deadline = time.monotonic() + SSH_WAIT_SECONDS
        while True:
            # The host key exists once the entry script ran; sshd answers once systemd started it.
            code, out = container.exec_run(["cat", "/etc/ssh/ssh_host_ed25519_key.pub"])
            if code == 0:
                self._remember_host_key(host, out.decode().split()[:2])
                if self.ssh(host.name, "true", timeout=10).returncode == 0:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{host.name}: no SSH answer within {SSH_WAIT_SECONDS}s")
            time.sleep(1)

    def _remember_host_key(self, host: RoomHost, key: list[str]) -> None:
        entry = f"[127.0.0.1]:{host.ssh_port} {' '.join(key)}"
        lines = self.known_hosts.read_text().splitlines() if self.known_hosts.exists() else []
        kept = [line for line in lines if not line.startswith(f"[127.0.0.1]:{host.ssh_port} ")]
        self.known_hosts.write_text("\n".join([*kept, entry]) + "\n", encoding="utf-8")

    # -- inventory ---------------------------------------------------------------------------

    def inventory(
        self,
        *,
        registry_vars: dict[str, Any] | None = None,
        lab_vars: dict[str, Any] | None = None,
        host_vars: dict[str, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The room as an Ansible inventory: this machine (the controller, connection local)
        is the registry host; the throwaway hosts are the lab, reached as the README's example
        inventory says (its admin account, `become`), and reach the registry at their
        network's gateway address. Room-wide settings are host variables, which win over
        inventory/group_vars/all.yml (group variables of this file would lose to it)."""
        ssh_args = " ".join(self.ssh_options()[2:])
        lab_hosts = {
            host.name: {
                **example_host_vars(),
                "ansible_host": "127.0.0.1",
                "ansible_port": host.ssh_port,
                "ansible_ssh_private_key_file": str(self.key_file),
                "ansible_ssh_common_args": ssh_args,
                "labdock_registry_host": self.gateway,
                **(lab_vars or {}),
                **(host_vars or {}).get(host.name, {}),
            }
            for host in self.hosts
        }
        controller = {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            **(registry_vars or {}),
        }
        return {
            "all": {
                "children": {
                    "registry": {"hosts": {"localhost": controller}},
                    "lab": {"hosts": lab_hosts},
                }
            }
        }

    def write_inventory(self, path: Path, **kwargs: Any) -> Path:
        """Write the inventory; outside inventory/ a `group_vars` link to the repo's is put
        beside it, so the lab's facts keep their one definition."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(self.inventory(**kwargs), sort_keys=False), encoding="utf-8")
        group_vars = path.parent / "group_vars"
        if path.parent.resolve() != (REPO_ROOT / "inventory").resolve() and not group_vars.exists():
            group_vars.symlink_to(REPO_ROOT / "inventory" / "group_vars")
        return path

    # -- state for `make room-up` / `make room-down` ---------------------------------------

    def save(self) -> None:
        state = {
            "size": self.size,
            "prefix": self.prefix,
            "gateway": self.gateway,
            "hosts": [asdict(h) for h in self.hosts],
        }
        (self.workdir / STATE_FILE).write_text(json.dumps(state, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, workdir: Path) -> Room:
        state = json.loads((workdir / STATE_FILE).read_text(encoding="utf-8"))
        return cls(
            workdir=workdir,
            size=state["size"],
            prefix=state["prefix"],
            hosts=[RoomHost(**h) for h in state["hosts"]],
            gateway=state["gateway"],
        )


def example_host_vars() -> dict[str, Any]:
    """The variables of the first lab host of inventory/lab.example.yml (the `pc` anchor)."""
    example = yaml.safe_load(EXAMPLE_INVENTORY.read_text(encoding="utf-8"))
    hosts = example["all"]["children"]["lab"]["hosts"]
    return dict(next(iter(hosts.values())))


def ensure_image() -> None:
    """Build labdock/labhost with the real base_images role; a no-op when its recipe-hash tag
    exists (the role checks), about 50 s with the minbase rootfs cached, 2.5 min cold."""
    result = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", str(IMAGE_PLAYBOOK)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        tail = "\n".join(result.stdout.splitlines()[-20:])
        raise RuntimeError(f"building {IMAGE} failed:\n{tail}")


def _ignore_missing(remove: Any) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        remove()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.harness.room")
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--hosts", type=int, default=3, help="number of lab hosts (up)")
    parser.add_argument("--dir", type=Path, default=REPO_ROOT / ".room", help="state folder")
    parser.add_argument(
        "--inventory",
        type=Path,
        default=REPO_ROOT / "inventory" / "room.yml",
        help="inventory file written by `up`",
    )
    args = parser.parse_args(argv)
    workdir = args.dir.resolve()
    if args.action == "down":
        if not (workdir / STATE_FILE).exists():
            print(f"no room recorded in {workdir}: nothing to remove")
            return 0
        Room.load(workdir).close()
        args.inventory.unlink(missing_ok=True)
        print("room removed (hosts, their volumes, the network)")
        return 0
    if (workdir / STATE_FILE).exists():
        print(f"a room is already up ({workdir / STATE_FILE}); `make room-down` first")
        return 2
    room = Room(workdir, args.hosts)
    room.__enter__()
    room.write_inventory(args.inventory)
    print(f"{args.hosts} hosts up on network {room.network} (registry at {room.gateway})")
    print(f"inventory: {args.inventory}")
    print(f"try: ansible-playbook -i {args.inventory} site.yml")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
