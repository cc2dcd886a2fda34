"""The verify subcommand's command line: argument errors exit 2 with one line."""

from __future__ import annotations

import pytest

from labdock.cli import main


def test_unknown_stack_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "no_such_stack"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "unknown stack no_such_stack" in err[0]
