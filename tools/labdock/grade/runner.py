"""Grade one submission criterion by criterion, then a class several submissions at a time.

Checks turn whatever a submission does wrong into evidence themselves. An exception that
escapes a check is therefore the grader's fault, never the student's: that criterion is marked
not graded (no points given or taken, the traceback kept for `--json`), the other criteria are
still scored, and the command exits 2."""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import docker

from labdock.config import Settings
from labdock.errors import LabdockError
from labdock.grade.checks import CHECKS
from labdock.grade.containment import Limits
from labdock.grade.context import Context, Lost, Submission
from labdock.grade.grids import Criterion, Grid
from labdock.grade.sandbox import Sandbox, Timeouts, remove_run
from labdock.registry import RegistryClient


@dataclass(frozen=True)
class Score:
    criterion: Criterion
    earned: int
    evidence: str
    # Set when the check itself broke: the criterion is not graded.
    fault: str | None = None

    @property
    def graded(self) -> bool:
        return self.fault is None

    def as_dict(self) -> dict[str, object]:
        shown: dict[str, object] = {
            "id": self.criterion.id,
            "description": self.criterion.description,
            "earned": self.earned,
            "possible": self.criterion.points,
            "graded": self.graded,
            "evidence": self.evidence,
        }
        if self.fault is not None:
            shown["traceback"] = self.fault
        return shown


@dataclass
class StudentResult:
    submission: Submission
    scores: list[Score] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def earned(self) -> int:
        return sum(s.earned for s in self.scores)

    @property
    def possible(self) -> int:
        return sum(s.criterion.points for s in self.scores)

    @property
    def not_graded(self) -> list[Score]:
        return [s for s in self.scores if not s.graded]

    def as_dict(self) -> dict[str, object]:
        return {
            "student": self.submission.name,
            "folder": str(self.submission.root),
            "namespace": self.submission.namespace,
            "earned": self.earned,
            "possible": self.possible,
            "seconds": round(self.seconds, 1),
            "criteria": [s.as_dict() for s in self.scores],
        }


@dataclass(frozen=True)
class Options:
    run_id: str
    registry: Settings | None
    limits: Limits = field(default_factory=Limits)
    timeouts: Timeouts = field(default_factory=Timeouts)


def grade_submission(
    client: docker.DockerClient,
    grid: Grid,
    submission: Submission,
    options: Options,
    cancelled: threading.Event | None = None,
) -> StudentResult:
    started = time.monotonic()
    sandbox = Sandbox(
        client,
        options.run_id,
        submission.name,
        submission.root,
        limits=options.limits,
        timeouts=options.timeouts,
    )
    result = StudentResult(submission)
    registry = RegistryClient(options.registry) if options.registry is not None else None
    # While the criteria run: a container writing past the disk limit to its layer is
    # stopped (layerwatch.LayerWatch).
    sandbox.layers.start()
    try:
        ctx = Context(submission, sandbox, registry)
        for criterion in grid.criteria:
            if cancelled is not None and cancelled.is_set():
                raise LabdockError("grading was interrupted")
            result.scores.append(_score(ctx, criterion))
    finally:
        sandbox.layers.stop()
        if registry is not None:
            registry.close()
        # This student's containers, networks and volumes go as soon as they are graded; the
        # images at the end of the run (commands/grade.py). Untagging a student's image while
        # another's build is under way can delete the very image that build resolved from
        # its cache (identical hand-ins build identical images) before it tags it: the likely
        # cause of a CI run where one of grid 000's five identical frontends lost its image
        # between two checks (ImageNotFound: "not graded").
        remove_run(client, options.run_id, submission.name, images=False)
        sandbox.remove_workdir()
    result.seconds = time.monotonic() - started
    return result


def _score(ctx: Context, criterion: Criterion) -> Score:
    try:
        evidence = CHECKS[criterion.check](ctx, criterion.params)
    except Lost as lost:
        return Score(criterion, 0, str(lost))
    except Exception as exc:
        # A bug of ours (or an engine that broke under us): this criterion only, not graded;
        # the class goes on and the command says so.
        return Score(
            criterion,
            0,
            f"not graded: grader fault in check {criterion.check}: "
            f"{type(exc).__name__}: {str(exc)[:200]}",
            fault=traceback.format_exc(),
        )
    return Score(criterion, criterion.points, evidence)


def grade_class(
    client: docker.DockerClient,
    grid: Grid,
    submissions: Sequence[Submission],
    options: Options,
    *,
    jobs: int,
    on_done: Callable[[StudentResult], None] | None = None,
) -> list[StudentResult]:
    """Grade every submission, at most `jobs` at a time, in the given order. On Ctrl-C the
    workers stop at their next criterion and the caller removes the run by its label."""
    cancelled = threading.Event()
    results: dict[int, StudentResult] = {}
    executor = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="grade")
    try:
        futures = {
            executor.submit(grade_submission, client, grid, s, options, cancelled): index
            for index, s in enumerate(submissions)
        }
        for future, index in futures.items():
            results[index] = future.result()
            if on_done is not None:
                on_done(results[index])
    except BaseException:
        cancelled.set()
        # Containers removed now make the running steps fail fast instead of waiting.
        remove_run(client, options.run_id)
        executor.shutdown(wait=True, cancel_futures=True)
        raise
    executor.shutdown(wait=True)
    return [results[i] for i in range(len(submissions))]
