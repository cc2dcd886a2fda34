"""How commands present results: a rich table for people, --json for machines, JUnit XML
for CI. Data goes to stdout; progress and errors go to stderr so stdout stays parseable."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from labdock.catalog import Repository
from labdock.checks import CheckResult, exit_code, failure_summary
from labdock.engine import RegistryVolume
from labdock.errors import ExitCode
from labdock.imagegraph import EPOCH, WalkProgress
from labdock.retention import Decision
from labdock.tagdelete import Deletion
from labdock.usage import Usage, human_bytes


def stdout_console() -> Console:
    return Console(file=sys.stdout)


def stderr_console() -> Console:
    return Console(file=sys.stderr, stderr=True)


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


def error_line(message: str) -> None:
    """The one line a failed command leaves on stderr."""
    print(f"labdock: {message}", file=sys.stderr)


def catalog_table(registry_url: str, repositories: Sequence[Repository]) -> RenderableType:
    tag_count = sum(len(r.tags) for r in repositories)
    title = f"{registry_url}: {len(repositories)} repositories, {tag_count} tags"
    table = Table()
    table.add_column("repository", style="bold cyan", no_wrap=True)
    table.add_column("tag", style="green")
    table.add_column("digest", style="dim", overflow="fold")
    for repo in repositories:
        if not repo.tags:
            table.add_row(repo.name, "[dim](no tags)[/dim]", "")
        for index, entry in enumerate(repo.tags):
            # The name only on a repository's first row keeps the table easy to scan.
            table.add_row(repo.name if index == 0 else "", entry.tag, short_digest(entry.digest))
    return _titled(title, table)


def short_digest(digest: str, length: int = 12) -> str:
    """`sha256:` and the first 12 hex digits, as crane and `docker images` show them: one line
    per tag in a table. --json keeps the full digest."""
    algorithm, _, hexdigits = digest.partition(":")
    return f"{algorithm}:{hexdigits[:length]}" if hexdigits else digest


def checks_table(title: str, results: Sequence[CheckResult]) -> RenderableType:
    passed = sum(r.ok for r in results)
    table = Table()
    table.add_column("check", style="bold", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for result in results:
        verdict = "[green]PASS[/green]" if result.ok else "[bold red]FAIL[/bold red]"
        table.add_row(result.name, verdict, result.detail)
    return _titled(f"{title}: {passed}/{len(results)} passed", table)


def report_checks(
    results: Sequence[CheckResult],
    *,
    title: str,
    suite: str,
    as_json: bool,
    junit: Path | None,
    context: dict[str, Any],
    notes: Sequence[str] = (),
) -> ExitCode:
    """What a checking command ends with: the table (or JSON with `context` beside the checks),
    notes that are information rather than checks, JUnit XML when asked, one line naming the
    failures on stderr, and the exit code."""
    if as_json:
        print_json(
            {
                **context,
                "checks": [r.as_dict() for r in results],
                "ok": all(r.ok for r in results),
                "notes": list(notes),
            }
        )
    else:
        stdout_console().print(checks_table(title, results))
        for note in notes:
            stdout_console().print(f"note: {note}", markup=False)
    if junit is not None:
        write_junit(junit, suite, results)
    summary = failure_summary(results)
    if summary is not None:
        error_line(summary)
    return exit_code(results)


def _titled(title: str, table: Table) -> RenderableType:
    # A heading line above the table: rich would wrap a table title to the table's width.
    return Group(Text(title, style="bold"), table)


def write_junit(path: Path, suite: str, results: Sequence[CheckResult]) -> None:
    failures = sum(not r.ok for r in results)
    root = ET.Element("testsuites", tests=str(len(results)), failures=str(failures))
    suite_el = ET.SubElement(
        root, "testsuite", name=suite, tests=str(len(results)), failures=str(failures)
    )
    for result in results:
        case = ET.SubElement(suite_el, "testcase", classname=suite, name=result.name)
        if result.ok:
            ET.SubElement(case, "system-out").text = result.detail
        else:
            ET.SubElement(case, "failure", message=result.detail).text = result.detail
    ET.indent(root)
    path.write_bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n")


def _stderr_progress() -> Progress:
    """A bar with a count and the elapsed time on stderr; silent when stderr is no terminal."""
    console = stderr_console()
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


class CatalogProgressBar:
    """Progress of a catalog walk on stderr; silent when stderr is not a terminal."""

    def __init__(self) -> None:
        self._progress = _stderr_progress()
        self._repos = self._progress.add_task("tag lists", total=None)
        self._digests = self._progress.add_task("manifests", total=0)
        self._digest_total = 0

    def __enter__(self) -> CatalogProgressBar:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def repositories_found(self, count: int) -> None:
        self._progress.update(self._repos, total=count)

    def tags_listed(self, count: int) -> None:
        self._progress.advance(self._repos)
        self._digest_total += count
        self._progress.update(self._digests, total=self._digest_total)

    def digest_resolved(self) -> None:
        self._progress.advance(self._digests)


# -- registry maintenance: usage, tag delete, prune ------------------------------------------


class WalkProgressBar(WalkProgress):
    """Progress of a repository walk on stderr; silent when stderr is not a terminal."""

    def __init__(self, description: str) -> None:
        self._progress = _stderr_progress()
        self._task = self._progress.add_task(description, total=None)

    def __enter__(self) -> WalkProgressBar:
        self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def repositories_found(self, count: int) -> None:
        self._progress.update(self._task, total=count)

    def repository_done(self) -> None:
        self._progress.advance(self._task)


def usage_table(registry_url: str, usage: Usage, volume: RegistryVolume | None) -> RenderableType:
    title = (
        f"{registry_url}: {len(usage.repositories)} repositories, "
        f"{human_bytes(usage.total_bytes)} referenced "
        f"({human_bytes(usage.shared_bytes)} in blobs shared across repositories)"
    )
    if volume is not None:
        title += f"; volume {volume.volume} holds {human_bytes(volume.bytes_on_disk)} on disk"
    table = Table()
    table.add_column("repository", style="bold cyan", no_wrap=True)
    table.add_column("tags", justify="right")
    table.add_column("manifests", justify="right")
    table.add_column("size", justify="right")
    table.add_column("shared", justify="right", style="dim")
    for row in usage.repositories:
        shared = human_bytes(row.shared_bytes) if row.shared_bytes else ""
        table.add_row(row.name, str(row.tags), str(row.manifests), human_bytes(row.bytes), shared)
    return _titled(title, table)


def deletions_table(title: str, deletions: Sequence[Deletion]) -> RenderableType:
    table = Table()
    table.add_column("repository", style="bold cyan", no_wrap=True)
    table.add_column("tag", style="green")
    table.add_column("digest", style="dim", no_wrap=True)
    table.add_column("how")
    table.add_column("why", overflow="fold")
    for item in deletions:
        # Short digests in tables, as crane and regctl print them; --json has them whole.
        table.add_row(item.repository, item.tag or "", item.digest[:19], item.method, item.why)
    return _titled(title, table)


def retention_table(title: str, decisions: Sequence[Decision]) -> RenderableType:
    """Per repository, every image its tags name (newest first), kept or not, and why."""
    table = Table()
    table.add_column("repository", style="bold cyan", no_wrap=True)
    table.add_column("image", style="dim", no_wrap=True)
    table.add_column("created", no_wrap=True)
    table.add_column("tags", style="green")
    table.add_column("", no_wrap=True)
    table.add_column("why", overflow="fold")
    previous = ""
    for item in decisions:
        created = "?" if item.created == EPOCH else item.created.strftime("%Y-%m-%d")
        verdict = "[green]keep[/green]" if item.keep else "[red]delete[/red]"
        # The name only on a repository's first row keeps the table easy to scan.
        name = item.repository if item.repository != previous else ""
        previous = item.repository
        table.add_row(
            name, short_digest(item.digest), created, " ".join(item.tags), verdict, item.why
        )
    return _titled(title, table)
