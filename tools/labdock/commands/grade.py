"""`labdock grade GRID HAND-IN...`: score students' deliverables on a course grid."""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path
from types import FrameType

from labdock import output
from labdock.accounts import lab_namespace_pattern
from labdock.arguments import positive_int
from labdock.commands.room import DEFAULT_INVENTORY, ENV_INVENTORY
from labdock.config import add_connection_arguments, settings_from_args
from labdock.errors import ExitCode, UsageError
from labdock.grade import clone, report
from labdock.grade.checks import CHECKS
from labdock.grade.collected import collected_handins
from labdock.grade.context import DEFAULT_NAMESPACE, Submission
from labdock.grade.grids import Grid, load
from labdock.grade.runner import Options, grade_class
from labdock.grade.sandbox import Timeouts, connect, new_run_id, remove_run


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "grade",
        help="score students' deliverables on a course grid (runs their code, contained)",
        description=(
            "Grade each HAND-IN on GRID (a bundled grid such as 001, or a grid file). A hand-in "
            "is a folder (the student is its name) or a git repository to clone shallow: an "
            "https, ssh, git:// or scp-like user@host:path URL, a bare repository's path or a "
            "file:// URL under a --clone-root (the student is the last path part without "
            ".git). Each repository is checked before the first clone; clones go to a "
            "temporary folder removed after grading. Their "
            "images are built and run under a project of ours with no privileges, no host "
            "network or mounts, CPU/memory/pids limits and timeouts, and removed afterwards. "
            "Exit 0 full marks everywhere, 1 some points lost, 2 could not run or a check "
            "broke (that criterion is shown as not graded, its traceback in --json)."
        ),
    )
    parser.add_argument("grid", metavar="GRID", help="bundled grid name (001, 000...) or a file")
    parser.add_argument("handins", nargs="*", metavar="HAND-IN", help="folder or repository URL")
    parser.add_argument(
        "--namespace",
        help=(
            "student's registry namespace, {name} = the student (default: the lab registry's "
            f"student namespace from its accounts, else {DEFAULT_NAMESPACE})"
        ),
    )
    parser.add_argument(
        "--clone-root",
        action="append",
        type=Path,
        metavar="DIR",
        help="a local repository may be cloned only from under DIR (repeatable; default: .)",
    )
    parser.add_argument(
        "--clone-timeout",
        type=positive_int,
        metavar="SECONDS",
        default=clone.DEFAULT_TIMEOUT,
        help=(
            "seconds each git command (the check, then the clone) may take before it is killed "
            f"(default {clone.DEFAULT_TIMEOUT})"
        ),
    )
    parser.add_argument(
        "--clone-max-mb",
        type=positive_int,
        metavar="MB",
        default=clone.DEFAULT_MAX_MB,
        help=f"a clone growing past this is stopped and removed (default {clone.DEFAULT_MAX_MB})",
    )
    parser.add_argument(
        "--room-collect",
        type=Path,
        metavar="DEST",
        help=(
            "also grade what `labdock room collect PATH DEST` copied: DEST/<host>/<folder>, the "
            "student being the host's `labdock_student` inventory variable (a host without "
            "one is graded under its host name)"
        ),
    )
    parser.add_argument(
        "-i",
        "--inventory",
        type=Path,
        default=Path(os.environ.get(ENV_INVENTORY, DEFAULT_INVENTORY)),
        help=f"inventory for --room-collect (env {ENV_INVENTORY}; default {DEFAULT_INVENTORY})",
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
    handins = _handins(args)
    names = [name for name, _ in handins]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(
            f"two hand-ins are named {', '.join(twice)}: rename one of the folders, or clone "
            "that repository yourself into a folder named for its student and give the folder"
        )
    options = Options(
        run_id=new_run_id(),
        registry=settings_from_args(args),
        timeouts=Timeouts(step=float(args.step_timeout), build=float(args.build_timeout)),
    )
    repositories = [where for _, where in handins if isinstance(where, clone.Repository)]
    limits = clone.Limits(timeout=float(args.clone_timeout), max_bytes=args.clone_max_mb * 2**20)
    # SIGTERM (a closed session, `kill`) cleans up like Ctrl-C does: a clone's git is killed,
    # the clones and the run's engine objects removed.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        # Graded inside the `with`: the clones are removed once the grades are out.
        with clone.cloned(repositories, limits) as clones:
            submissions = [
                Submission.from_folder(
                    clones[where] if isinstance(where, clone.Repository) else where,
                    namespace,
                    name,
                )
                for name, where in handins
            ]
            return _grade(args, grid, submissions, options)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _handins(args: argparse.Namespace) -> list[tuple[str, Path | clone.Repository]]:
    """(student, what to grade) per hand-in, every argument checked before anything is
    fetched."""
    if not args.handins and args.room_collect is None:
        raise UsageError("nothing to grade: give a HAND-IN or --room-collect DEST")
    roots = args.clone_root or [Path.cwd()]
    handins: list[tuple[str, Path | clone.Repository]] = []
    for argument in args.handins:
        where = clone.classify(argument, roots)
        name = where.name if isinstance(where, clone.Repository) else where.resolve().name
        handins.append((name, where))
    if args.room_collect is not None:
        handins += collected_handins(args.room_collect, args.inventory)
    return handins


def _grade(
    args: argparse.Namespace, grid: Grid, submissions: list[Submission], options: Options
) -> int:
    client = connect()
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
