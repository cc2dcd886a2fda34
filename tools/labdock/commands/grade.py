"""`labdock grade GRID SUBMISSION...`: score students' deliverables on a course grid."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path
from types import FrameType

from labdock import output
from labdock.accounts import lab_namespace_pattern
from labdock.arguments import positive_int
from labdock.config import add_connection_arguments, settings_from_args
from labdock.errors import ExitCode, UsageError
from labdock.grade import report
from labdock.grade.checks import CHECKS
from labdock.grade.context import DEFAULT_NAMESPACE, Submission
from labdock.grade.grids import load
from labdock.grade.runner import Options, grade_class
from labdock.grade.sandbox import Timeouts, connect, new_run_id, remove_run


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "grade",
        help="score students' deliverables on a course grid (runs their code, contained)",
        description=(
            "Grade each SUBMISSION (a folder: a clone of the student's repository; the student "
            "is the folder's name) on GRID (a bundled grid such as 001, or a grid file). Their "
            "images are built and run under a project of ours with no privileges, no host "
            "network or mounts, CPU/memory/pids limits and timeouts, and removed afterwards. "
            "Exit 0 full marks everywhere, 1 some points lost, 2 could not run or a check "
            "broke (that criterion is shown as not graded, its traceback in --json)."
        ),
    )
    parser.add_argument("grid", metavar="GRID", help="bundled grid name (001, 000...) or a file")
    parser.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION")
    parser.add_argument(
        "--namespace",
        help=(
            "student's registry namespace, {name} = folder name (default: the lab registry's "
            f"student namespace from its accounts, else {DEFAULT_NAMESPACE})"
        ),
    )
    parser.add_argument(
        "--jobs", type=positive_int, default=2, help="submissions graded at once (default 2)"
    )
    parser.add_argument(
        "--step-timeout",
        type=positive_int,
        default=int(Timeouts.step),
        help=f"seconds to wait for each interactive step (default {Timeouts.step:.0f})",
    )
    parser.add_argument(
        "--build-timeout",
        type=positive_int,
        default=int(Timeouts.build),
        help=(
            "seconds a student's image build may take before it is stopped "
            f"(default {Timeouts.build:.0f})"
        ),
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--csv", type=Path, metavar="FILE", help="write one row per student")
    parser.add_argument(
        "--feedback-dir", type=Path, metavar="DIR", help="write DIR/<student>.md for each student"
    )
    add_connection_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    grid = load(args.grid, CHECKS)
    namespace = args.namespace or (lab_namespace_pattern() or DEFAULT_NAMESPACE).rstrip("/")
    submissions = [Submission.from_folder(folder, namespace) for folder in args.submissions]
    for submission in submissions:
        if not submission.root.is_dir():
            raise UsageError(f"submission {submission.root} is not a folder")
    names = [s.name for s in submissions]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"two submissions are named {', '.join(twice)}: rename a folder")
    options = Options(
        run_id=new_run_id(),
        registry=settings_from_args(args),
        timeouts=Timeouts(step=float(args.step_timeout), build=float(args.build_timeout)),
    )
    client = connect()
    # SIGTERM (a closed session, `kill`) cleans up like Ctrl-C does.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    progress = output.stderr_console()
    try:
        results = grade_class(
            client,
            grid,
            submissions,
            options,
            jobs=args.jobs,
            on_done=lambda r: (
                progress.print(f"graded {r.submission.name}: {r.earned}/{r.possible}")
                if progress.is_terminal
                else None
            ),
        )
    finally:
        remove_run(client, options.run_id)
        signal.signal(signal.SIGTERM, previous)
        client.close()

    if args.json:
        output.print_json(report.document(grid, options.run_id, results))
    else:
        console = output.stdout_console()
        for result in results:
            console.print(report.student_table(grid, result))
        if len(results) > 1:
            console.print(report.class_table(grid, results))
    if args.csv is not None:
        report.write_csv(args.csv, grid, results)
    if args.feedback_dir is not None:
        for result in results:
            report.write_feedback(args.feedback_dir, grid, result)
    faults = [f"{r.submission.name}: {s.criterion.id}" for r in results for s in r.not_graded]
    if faults:
        output.stderr_console().print(
            f"[red]grader fault: not graded: {', '.join(faults)}; the student lost nothing "
            "there (traceback in --json); please report it[/red]"
        )
        return ExitCode.CANNOT_RUN
    full = all(r.earned == r.possible for r in results)
    return ExitCode.OK if full else ExitCode.CHECK_FAILED


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
