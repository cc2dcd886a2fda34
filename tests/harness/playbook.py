"""Run a playbook of this repository as `make site` would: from the repo root (so ansible.cfg
and the inventory's group_vars apply), with the test's settings as extra vars."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PLAYBOOK_TIMEOUT = 1800


def run_playbook(
    playbook: str | Path, extra_vars: dict[str, Any], *, timeout: float = PLAYBOOK_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """ansible-playbook from the repo root, extra vars as JSON."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg")}
    return subprocess.run(
        [str(BIN / "ansible-playbook"), str(playbook), "-e", json.dumps(extra_vars)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def group_vars() -> dict[str, Any]:
    """The lab-wide settings every role reads (inventory/group_vars/all.yml), unrendered."""
    import yaml

    path = REPO_ROOT / "inventory" / "group_vars" / "all.yml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))
