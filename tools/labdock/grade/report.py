"""What a grading run hands back: a table per student (and a class summary), JSON, a CSV with
one row per student and one column per criterion, and a feedback file per student."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from labdock.grade.grids import Grid
from labdock.grade.runner import StudentResult


def student_table(grid: Grid, result: StudentResult) -> RenderableType:
    table = Table()
    table.add_column("criterion", style="bold", no_wrap=True)
    table.add_column("points", justify="right", no_wrap=True)
    table.add_column("evidence", overflow="fold")
    for score in result.scores:
        colour = "green" if score.earned == score.criterion.points else "red"
        points = f"[{colour}]{score.earned}/{score.criterion.points}[/{colour}]"
        table.add_row(
            score.criterion.id,
            points if score.graded else "[yellow]not graded[/yellow]",
            score.evidence,
        )
    heading = (
        f"{result.submission.name} ({result.submission.namespace}): {grid.title}: "
        f"{result.earned}/{result.possible} in {result.seconds:.0f}s"
    )
    return Group(Text(heading, style="bold"), table)


def class_table(grid: Grid, results: Sequence[StudentResult]) -> RenderableType:
    table = Table()
    table.add_column("student", style="bold cyan", no_wrap=True)
    table.add_column("total", justify="right", no_wrap=True)
    table.add_column("points lost", overflow="fold")
    for result in results:
        lost = [
            f"{s.criterion.id} -{s.criterion.points - s.earned}"
            for s in result.scores
            if s.graded and s.earned < s.criterion.points
        ]
        lost.extend(f"{s.criterion.id} not graded" for s in result.not_graded)
        table.add_row(result.submission.name, f"{result.earned}/{result.possible}", ", ".join(lost))
    return Group(Text(f"{grid.title}: {len(results)} submissions", style="bold"), table)


def document(grid: Grid, run_id: str, results: Sequence[StudentResult]) -> dict[str, object]:
    return {
        "grid": grid.name,
        "title": grid.title,
        "possible": grid.total,
        "run": run_id,
        "students": [r.as_dict() for r in results],
    }


def write_csv(path: Path, grid: Grid, results: Sequence[StudentResult]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", *(c.id for c in grid.criteria), "total"])
        for result in results:
            # Empty for a criterion not graded (a grader fault): no score, not a zero.
            earned = {s.criterion.id: s.earned if s.graded else "" for s in result.scores}
            writer.writerow(
                [result.submission.name, *(earned[c.id] for c in grid.criteria), result.earned]
            )


def write_feedback(directory: Path, grid: Grid, result: StudentResult) -> Path:
    """A Markdown page the teacher can hand back: each criterion, the points and why."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# {grid.title}: {result.submission.name}",
        "",
        f"Total: **{result.earned} / {result.possible}**",
        "",
        "| criterion | points | what we saw |",
        "|---|---|---|",
    ]
    for score in result.scores:
        evidence = score.evidence.replace("|", "\\|")
        points = f"{score.earned}/{score.criterion.points}" if score.graded else "not graded"
        lines.append(f"| {score.criterion.description} | {points} | {evidence} |")
    path = directory / f"{result.submission.name}.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
