"""The e2e suite's deployment helper: the stacks role run by ansible-playbook under a test
project prefix, folders and loopback ports, and what the flows need to reach it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.harness.registry import ThrowawayRegistry

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# The lab's stacks, from their one definition.
ALL_STACKS = yaml.safe_load((REPO_ROOT / "inventory/group_vars/all.yml").read_text())[
    "labdock_stacks"
]
PORT_VARIABLES = (
    "stacks_frontend_port",
    "stacks_backend_port",
    "stacks_student_age_port",
    "stacks_student_website_port",
    "stacks_website_port",
    "stacks_simple_api_port",
)
PLAYBOOK_TIMEOUT = 1800


def run_playbook(playbook: str, extra_vars: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """ansible-playbook from the repo root (so ansible.cfg applies), extra vars as JSON."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg")}
    return subprocess.run(
        [str(BIN / "ansible-playbook"), playbook, "-e", json.dumps(extra_vars)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=PLAYBOOK_TIMEOUT,
        check=False,
    )


@dataclass
class Lab:
    """One deployment of the stacks role under a test prefix."""

    registry: ThrowawayRegistry
    prefix: str
    root: Path
    secrets_dir: Path
    ports: dict[str, int]

    def extra_vars(self, **overrides: Any) -> dict[str, Any]:
        return {
            "stacks_enabled": ALL_STACKS,
            "stacks_registry": self.registry.address,
            "stacks_project_prefix": self.prefix,
            "stacks_deploy_root": str(self.root),
            "stacks_secrets_dir": str(self.secrets_dir),
            "stacks_bind_address": "127.0.0.1",
            "stacks_wait_timeout": 120,
            **self.ports,
            **overrides,
        }

    def deploy(self, **overrides: Any) -> subprocess.CompletedProcess[str]:
        return run_playbook("playbooks/stacks.yml", self.extra_vars(**overrides))

    def port(self, name: str) -> int:
        return self.ports[f"stacks_{name}_port"]

    def url(self, name: str, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port(name)}{path}"

    def project(self, stack: str) -> str:
        return f"{self.prefix}{stack}"

    def compose(self, stack: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """`docker compose` in the deployed folder, as a teacher would type it there."""
        return subprocess.run(
            ["docker", "compose", *args],
            cwd=self.root / stack,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def password(self, name: str) -> str:
        return (self.secrets_dir / name).read_text(encoding="utf-8").strip()

    def labdock(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "labdock"), *args],
            env=self.registry.cli_env(),
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )

    def tear_down(self) -> None:
        for stack in ALL_STACKS:
            if (self.root / stack / "compose.yaml").exists():
                self.compose(stack, "down", "-v", "--remove-orphans", "--timeout", "5")
