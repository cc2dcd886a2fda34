"""Run the repo's real playbooks as `make site` does, for the tests and the benches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Protocol

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PLAYBOOK_TIMEOUT = 1800


def run_playbook(
    playbook: str | Path,
    extra_vars: dict[str, Any] | None = None,
    *,
    timeout: float = PLAYBOOK_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """ansible-playbook from the repo root (so ansible.cfg, its callback and the inventory's
    group_vars apply), extra vars as JSON, output captured (uncoloured) and never raised on."""
    command = [str(BIN / "ansible-playbook"), str(playbook)]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    return subprocess.run(
        command,
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1",
        },
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def group_vars() -> dict[str, Any]:
    """The lab-wide settings every role reads (inventory/group_vars/all.yml), unrendered."""
    path = REPO_ROOT / "inventory" / "group_vars" / "all.yml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


class PlayOutput(Protocol):
    stdout: str


def play_report(result: PlayOutput, tail: int = 3000) -> str:
    """What a failed play said, for an assertion message: every failed or rescued task with
    its title and error line first (a rescued failure scrolls out of the tail, and it is often
    the first cause), then the tail of the output and of stderr when it was kept apart."""
    failures: list[str] = []
    task = ""
    for line in result.stdout.splitlines():
        if line.startswith("TASK ["):
            task = line
        elif line.startswith(("fatal:", "failed:")):
            failures.append(f"{task}\n  {line[:1500]}")
    head = "\n".join(failures[:10])
    stderr = getattr(result, "stderr", None) or ""
    return f"{head}\n...\n{result.stdout[-tail:]}{stderr[-1000:]}"
