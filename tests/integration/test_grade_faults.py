"""A check that breaks is the grader's fault: `labdock grade` marks that criterion not graded
(no points given or taken), keeps the traceback in `--json`, still scores the other criteria
and exits 2. A real engine (the run is created and removed on it); no image is built."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from labdock.cli import main
from labdock.grade import checks
from labdock.grade.context import Context

pytestmark = pytest.mark.integration

GRID = """\
grid: faults
title: a check that breaks
criteria:
  - {id: present, points: 1, description: readme.md is there, check: file_present,
     with: {path: readme.md}}
  - {id: broken, points: 2, description: a check with a bug, check: text_matches,
     with: {path: readme.md, patterns: {x: 'x'}}}
"""


def test_a_check_that_raises_is_not_graded_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(ctx: Context, params: Mapping[str, Any]) -> Any:
        raise ZeroDivisionError("a bug of ours")

    # The runner reads the checks table at call time: replace one check with a broken one.
    monkeypatch.setitem(checks.CHECKS, "text_matches", broken)
    grid = tmp_path / "grid.yml"
    grid.write_text(GRID, encoding="utf-8")
    student = tmp_path / "ada"
    student.mkdir()
    (student / "readme.md").write_text("hello\n", encoding="utf-8")
    feedback = tmp_path / "feedback"
    csv_path = tmp_path / "class.csv"

    code = main(
        [
            "grade", str(grid), str(student), "--json",
            "--csv", str(csv_path), "--feedback-dir", str(feedback),
        ]
    )  # fmt: skip

    captured = capsys.readouterr()
    assert code == 2
    assert "grader fault: not graded: ada: broken" in " ".join(captured.err.split())
    [graded] = json.loads(captured.out)["students"]
    present, faulty = graded["criteria"]
    assert (present["earned"], present["graded"]) == (1, True)
    assert (faulty["earned"], faulty["graded"]) == (0, False)
    assert "ZeroDivisionError: a bug of ours" in faulty["traceback"]
    assert "grid error" not in faulty["evidence"]
    assert faulty["evidence"].startswith("not graded: grader fault")
    assert csv_path.read_text(encoding="utf-8").splitlines()[1] == "ada,1,,1"
    assert "| not graded |" in (feedback / "ada.md").read_text(encoding="utf-8")
