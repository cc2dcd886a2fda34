"""Grade one submission criterion by criterion, then a class several submissions at a time.

A check that breaks (the engine refused something, a file could not be read) costs only its
own criterion, with the reason as evidence; the other criteria are still scored."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import docker

from labdock.config import Settings
from labdock.errors import LabdockError
from labdock.grade.checks import CHECKS
from labdock.grade.containment import Limits
from labdock.grade.context import Context, Submission
from labdock.grade.grids import Criterion, Grid
from labdock.grade.sandbox import Sandbox, Timeouts, remove_run
from labdock.registry import RegistryClient


@dataclass(frozen=True)
class Score:
    criterion: Criterion
    earned: int
    evidence: str

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.criterion.id,
            "description": self.criterion.description,
            "earned": self.earned,
            "possible": self.criterion.points,
            "evidence": self.evidence,
        }


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
    try:
        ctx = Context(submission, sandbox, registry)
        for criterion in grid.criteria:
            if cancelled is not None and cancelled.is_set():
                raise LabdockError("grading was interrupted")
            passed, evidence = _score(ctx, criterion)
            result.scores.append(Score(criterion, criterion.points if passed else 0, evidence))
    finally:
        if registry is not None:
            registry.close()
        # This student's containers, networks and images go as soon as they are graded.
        remove_run(client, options.run_id, submission.name)
        sandbox.remove_workdir()
    result.seconds = time.monotonic() - started
    return result


def _score(ctx: Context, criterion: Criterion) -> tuple[bool, str]:
    try:
        return CHECKS[criterion.check](ctx, criterion.params)
    except (KeyError, TypeError) as exc:
        # A grid whose parameters do not fit its check: the teacher's file, named here.
        return False, f"grid error in {criterion.id}: parameter {exc} missing or wrong"
    except Exception as exc:
        # Whatever a submission makes go wrong (the engine refused it, a file is unreadable)
        # costs this criterion only; the class goes on.
        return False, f"could not check: {type(exc).__name__}: {str(exc)[:200]}"


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
