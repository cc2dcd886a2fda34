"""A system started from the student's own compose file (TP 003, mini-project 004): its
services found by role and started once (grade/stack.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labdock.grade import stack
from labdock.grade.context import Context, Lost, poll


def compose_starts(ctx: Context, params: Mapping[str, Any]) -> str:
    """The compose file starts each role's service (its container runs after `up`) and, for
    `depends: {role: dependency}`, the role's service depends on the dependency's."""
    run = stack.stack_run(ctx, params)
    if run.error:
        raise Lost(run.error)
    problems: list[str] = []
    shown: list[str] = []
    for role in params["starts"]:
        # A service may restart once while its dependency starts: give it the step's time.
        if poll(lambda role=role: _running(run, role), ctx.sandbox.timeouts.step):
            shown.append(f"{run.service(role)} running")
        else:
            try:
                run.container(role)
            except Lost as why:
                problems.append(str(why))
    for role, dependency in (params.get("depends") or {}).items():
        service, needed = run.service(role), run.service(dependency)
        if service is None or needed is None:
            problems.append(f"{run.compose_file} has no {role if service is None else dependency}")
            continue
        if needed not in (run.model["services"][service].get("depends_on") or {}):
            problems.append(f"{service} does not depend on {needed}")
        else:
            shown.append(f"{service} depends on {needed}")
    # As a teacher would note it beside the score: what the grader changed before `up`.
    contained = f" (contained: {'; '.join(run.contained)})" if run.contained else ""
    if problems:
        raise Lost("; ".join(problems) + contained)
    return "; ".join(shown) + contained


def _running(run: stack.StackRun, role: str) -> bool:
    try:
        run.container(role)
    except Lost:
        return False
    return True


CHECKS = (compose_starts,)
