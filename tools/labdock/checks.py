"""The result of one check: what every checking command reports, as a table row, a JSON
object and a JUnit test case."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from labdock.errors import ExitCode


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def exit_code(results: Sequence[CheckResult]) -> ExitCode:
    return ExitCode.OK if all(r.ok for r in results) else ExitCode.CHECK_FAILED


def failure_summary(results: Sequence[CheckResult]) -> str | None:
    """One line naming every failed check, or None when all passed."""
    failed = [r for r in results if not r.ok]
    if not failed:
        return None
    names = "; ".join(f"{r.name}: {r.detail}" for r in failed)
    return f"{len(failed)} of {len(results)} checks failed: {names}"
