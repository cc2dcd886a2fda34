"""The room's hosts, read from the Ansible inventory itself (`ansible-inventory --list`), so the
room has one host list: the one site.yml runs on. `--limit` takes Ansible's pattern syntax
because ansible-inventory resolves it."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labdock.errors import LabdockError

LAB_GROUP = "lab"
INVENTORY_TIMEOUT = 120


@dataclass(frozen=True)
class RoomHost:
    """How to reach one lab host, from its inventory variables."""

    name: str
    address: str
    port: int
    user: str | None
    key_file: str | None
    known_hosts: str | None
    local: bool
    # Ansible's `become` (the README's inventory: an admin account with sudo): every command
    # then runs as root through sudo, as the playbooks' tasks do.
    become: bool = False
    # `labdock_student`: who sits at this host, for grading what `room collect` copied.
    student: str | None = None


def room_hosts(inventory: Path, limit: str | None = None) -> list[RoomHost]:
    """The hosts of group `lab`, narrowed by an Ansible pattern; LabdockError when the
    inventory cannot be read or names no host."""
    command = [_ansible_inventory(), "-i", str(inventory), "--list"]
    if limit:
        command += ["--limit", limit]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=INVENTORY_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise LabdockError(
            f"ansible-inventory took over {INVENTORY_TIMEOUT}s on {inventory}"
        ) from None
    if result.returncode != 0 or not inventory.exists():
        reason = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise LabdockError(f"cannot read inventory {inventory}: {reason}")
    data = json.loads(result.stdout)
    names = sorted(_members(data, LAB_GROUP))
    if not names:
        where = f" matching --limit {limit!r}" if limit else ""
        raise LabdockError(f"inventory {inventory} has no host in group {LAB_GROUP!r}{where}")
    hostvars = data.get("_meta", {}).get("hostvars", {})
    return [_host(name, hostvars.get(name, {})) for name in names]


def _members(data: dict[str, Any], group: str) -> set[str]:
    entry = data.get(group, {})
    found = set(entry.get("hosts", []))
    for child in entry.get("children", []):
        found |= _members(data, child)
    return found


def _host(name: str, variables: dict[str, Any]) -> RoomHost:
    return RoomHost(
        name=name,
        address=str(variables.get("ansible_host", name)),
        port=int(variables.get("ansible_port", 22)),
        user=variables.get("ansible_user"),
        key_file=variables.get("ansible_ssh_private_key_file"),
        known_hosts=_ssh_option(variables.get("ansible_ssh_common_args", ""), "UserKnownHostsFile"),
        local=variables.get("ansible_connection") == "local",
        become=_boolean(variables.get("ansible_become", False)),
        student=str(variables["labdock_student"]) if variables.get("labdock_student") else None,
    )


def _boolean(value: Any) -> bool:
    """An inventory boolean as Ansible reads it: YAML's true, or a string such as "yes"."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on", "y"}
    return bool(value)


def _ssh_option(arguments: str, option: str) -> str | None:
    """The value of `-o Option=value` among ssh arguments, as Ansible passes them to ssh."""
    words = shlex.split(arguments)
    for index, word in enumerate(words):
        setting = words[index + 1] if word == "-o" and index + 1 < len(words) else word
        key, _, value = setting.removeprefix("-o").partition("=")
        if key.strip().lower() == option.lower() and value:
            return value
    return None


def _ansible_inventory() -> str:
    # The venv's, beside this Python, before any other on PATH.
    beside = Path(sys.executable).with_name("ansible-inventory")
    found = str(beside) if beside.exists() else shutil.which("ansible-inventory")
    if found is None:
        raise LabdockError("ansible-inventory not found: run labdock from the venv (make venv)")
    return found
