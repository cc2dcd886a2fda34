"""Run the repo's real playbooks as `make site` does, for the tests and the benches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_CFG = REPO_ROOT / "ansible.cfg"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


def run_playbook(
    playbook: str | Path, extra_vars: dict[str, Any] | None = None, *, timeout: float = 1800
) -> subprocess.CompletedProcess[str]:
    """ansible-playbook from the repo root (so ansible.cfg and its callback apply), extra vars
    as JSON, output captured (uncoloured) and never raised on."""
    command = [str(ANSIBLE_PLAYBOOK), str(playbook)]
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
