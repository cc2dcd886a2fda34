"""The verify subcommand's command line: argument errors exit 2 with one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from labdock.cli import main

GROUP_VARS = Path(__file__).resolve().parents[2] / "inventory/group_vars/all.yml"


def test_unknown_stack_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # client.json as the plays write it: the lab's stacks from group_vars.
    stacks = yaml.safe_load(GROUP_VARS.read_text())["labdock_stacks"]
    config = tmp_path / "client.json"
    config.write_text(json.dumps({"url": "https://localhost:1", "stacks": stacks}))
    monkeypatch.setenv("LABDOCK_CONFIG", str(config))
    assert main(["verify", "no_such_stack"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "unknown stack no_such_stack" in err[0]
