"""Grid files: the bundled grids match the course's point totals (SPEC "Grading"), and a
teacher's mistake in a copied grid is one line naming the file and criterion."""

from __future__ import annotations

from pathlib import Path

import pytest

from labdock.cli import main
from labdock.errors import UsageError
from labdock.grade.checks import CHECKS
from labdock.grade.grids import bundled_grids, load

# The handout's totals (../shared/SPEC.md, "Grading"): a grid file edited by mistake fails here.
COURSE_TOTALS = {"001": 24, "000": 12, "002": 5, "003": 5, "004": 6}


@pytest.mark.parametrize("name", sorted(COURSE_TOTALS))
def test_bundled_grid_adds_up_to_the_course_total(name: str) -> None:
    assert load(name, CHECKS).total == COURSE_TOTALS[name]


def test_every_bundled_grid_loads() -> None:
    for path in bundled_grids():
        grid = load(str(path), CHECKS)
        assert grid.criteria, path


def test_001_keeps_the_handouts_split() -> None:
    grid = load("001", CHECKS)
    by_part = {"repo": 0, "registry": 0, "poc": 0}
    for criterion in grid.criteria:
        by_part[criterion.id.split(".")[0]] += criterion.points
    assert by_part == {"repo": 6, "registry": 6, "poc": 12}
    poc = {c.id: c.points for c in grid.criteria if c.id.startswith("poc.")}
    assert poc["poc.start"] == 5
    assert poc["poc.server-terminal"] == poc["poc.client-terminal"] == 2


def _grid(tmp_path: Path, body: str) -> str:
    path = tmp_path / "mine.yml"
    path.write_text(body, encoding="utf-8")
    return str(path)


def test_a_copied_grid_with_new_points_loads(tmp_path: Path) -> None:
    text = Path(bundled_grids()[0]).read_text(encoding="utf-8")
    text = text.replace("total: ", "# total: ", 1).replace("points: 1\n", "points: 3\n", 1)
    grid = load(_grid(tmp_path, text), CHECKS)
    assert grid.criteria[0].points == 3


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("criteria: [{id: a, points: 1, description: d, check: nope}]", "unknown check 'nope'"),
        ("criteria: [{id: a, points: -1, description: d, check: file_present}]", "points must"),
        ("criteria: [{id: a, points: 1, check: file_present}]", "missing description"),
        (
            "total: 3\ncriteria: [{id: a, points: 1, description: d, check: file_present}]",
            "add up to 1",
        ),
        (
            "criteria: [{id: a, points: 1, description: d, check: file_present},"
            " {id: a, points: 1, description: d, check: file_present}]",
            "used twice: a",
        ),
        ("criteria: {}", "needs a `criteria:` list"),
    ],
)
def test_mistakes_in_a_grid_name_file_and_criterion(
    tmp_path: Path, body: str, message: str
) -> None:
    with pytest.raises(UsageError, match=r"mine\.yml") as raised:
        load(_grid(tmp_path, body), CHECKS)
    assert message in str(raised.value)


def test_unknown_grid_name_lists_the_bundled_ones() -> None:
    with pytest.raises(UsageError, match="001-socket-chat"):
        load("999", CHECKS)


def test_cli_refuses_a_missing_folder_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["grade", "001", str(tmp_path / "nobody")])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"labdock: hand-in '{tmp_path / 'nobody'}': no such folder or repository"]
