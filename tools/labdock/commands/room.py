"""`labdock room status|exec|reset|collect`: the lab hosts of an Ansible inventory, over SSH
in parallel. Exit 0 every host fine, 1 a host failed or is unreachable, 2 could not run."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from rich.table import Table

from labdock import output
from labdock.checks import CheckResult
from labdock.errors import ExitCode, UsageError
from labdock.room import jobs
from labdock.room.inventory import RoomHost, room_hosts
from labdock.room.remote import HostOutcome, on_hosts

DEFAULT_INVENTORY = "inventory/lab.yml"
ENV_INVENTORY = "ANSIBLE_INVENTORY"
DEFAULT_WORKERS = 10


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "room",
        help="the lab hosts of the inventory over SSH: status, exec, reset, collect",
        description=(
            "Act on the lab hosts (group `lab`) of the Ansible inventory that site.yml uses, "
            "in parallel over SSH. Exit 0 all hosts fine, 1 a host failed, 2 could not run."
        ),
    )
    verbs = parser.add_subparsers(
        dest="room_command", required=True, metavar="VERB", parser_class=type(parser)
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-i",
        "--inventory",
        type=Path,
        default=Path(os.environ.get(ENV_INVENTORY, DEFAULT_INVENTORY)),
        help=f"Ansible inventory file (env {ENV_INVENTORY}; default {DEFAULT_INVENTORY})",
    )
    common.add_argument("-l", "--limit", help="Ansible host pattern, e.g. 'pc0*:!pc03'")
    common.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"hosts worked on at once (default {DEFAULT_WORKERS})",
    )

    status = verbs.add_parser(
        "status",
        parents=[common],
        help="reachable, Docker version, registry trust and login, "
        "stacks healthy, digests = registry, per host",
    )
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    status.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML")
    status.set_defaults(run=run_status)

    execute = verbs.add_parser("exec", parents=[common], help="run a command on every host")
    execute.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD [ARG...]")
    execute.add_argument("--json", action="store_true", help="print JSON instead of a table")
    execute.set_defaults(run=run_exec)

    reset = verbs.add_parser(
        "reset",
        parents=[common],
        help="remove containers, volumes, images and networks the lab "
        "did not deploy (keeps the lab's stacks and login)",
    )
    reset.add_argument("--dry-run", action="store_true", help="list them, remove nothing")
    reset.add_argument("--json", action="store_true", help="print JSON instead of a table")
    reset.set_defaults(run=run_reset)

    collect = verbs.add_parser(
        "collect", parents=[common], help="copy a folder from every host into DEST/<host>/"
    )
    collect.add_argument("path", help="absolute folder path on the hosts")
    collect.add_argument("destination", type=Path, help="local folder")
    collect.set_defaults(run=run_collect)


def _hosts(args: argparse.Namespace) -> list[RoomHost]:
    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    return room_hosts(args.inventory, args.limit)


def _failed_hosts(outcomes: Sequence[HostOutcome]) -> list[str]:
    return [o.host.name for o in outcomes if o.error is not None]


def _finish(failed: list[str], total: int) -> int:
    if failed:
        output.error_line(f"{len(failed)} of {total} hosts failed: {', '.join(failed)}")
        return ExitCode.CHECK_FAILED
    return ExitCode.OK


def run_status(args: argparse.Namespace) -> int:
    hosts = _hosts(args)
    outcomes = on_hosts(hosts, jobs.status, workers=args.workers, label="room status")
    results: list[CheckResult] = []
    for outcome in outcomes:
        if outcome.error is not None:
            results.append(CheckResult(f"{outcome.host.name} reachable", False, outcome.error))
        else:
            results.extend(outcome.value or [])
    return output.report_checks(
        results,
        title="room status",
        suite="labdock.room.status",
        as_json=args.json,
        junit=args.junit,
        context={"hosts": [h.name for h in hosts]},
    )


def run_exec(args: argparse.Namespace) -> int:
    words = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not words:
        raise UsageError("give the command after --, e.g. labdock room exec -- docker ps")
    command = " ".join(words) if len(words) == 1 else " ".join(map(_quote, words))
    hosts = _hosts(args)
    outcomes = on_hosts(
        hosts, lambda c, h: jobs.execute(c, h, command), workers=args.workers, label="room exec"
    )
    failed = [o.host.name for o in outcomes if o.error is not None or o.value.exit_code != 0]
    if args.json:
        output.print_json(
            {
                "command": command,
                "hosts": [
                    {
                        "host": o.host.name,
                        "exit_code": None if o.value is None else o.value.exit_code,
                        "stdout": None if o.value is None else o.value.stdout,
                        "stderr": o.error if o.value is None else o.value.stderr,
                    }
                    for o in outcomes
                ],
            }
        )
    else:
        table = Table("host", "exit", "output", title=f"room exec: {command}")
        for o in outcomes:
            if o.value is None:
                table.add_row(o.host.name, "-", o.error)
            else:
                text = (o.value.stdout + o.value.stderr).rstrip()
                table.add_row(o.host.name, str(o.value.exit_code), text)
        output.stdout_console().print(table)
    return _finish(failed, len(hosts))


def run_reset(args: argparse.Namespace) -> int:
    hosts = _hosts(args)
    verb = "room reset --dry-run" if args.dry_run else "room reset"
    outcomes = on_hosts(
        hosts, lambda c, h: jobs.reset(c, h, args.dry_run), workers=args.workers, label=verb
    )
    if args.json:
        output.print_json(
            {
                "dry_run": args.dry_run,
                "hosts": [
                    {
                        "host": o.host.name,
                        "error": o.error,
                        "removed": [vars(item) for item in o.value or []],
                    }
                    for o in outcomes
                ],
            }
        )
    else:
        title = "would remove (dry run)" if args.dry_run else "removed"
        table = Table("host", "kind", "name", title=f"{verb}: {title}")
        for o in outcomes:
            if o.error is not None:
                table.add_row(o.host.name, "error", o.error)
            for item in o.value or []:
                table.add_row(o.host.name, item.kind, item.name)
            if o.error is None and not o.value:
                table.add_row(o.host.name, "-", "nothing left behind")
        output.stdout_console().print(table)
    return _finish(_failed_hosts(outcomes), len(hosts))


def run_collect(args: argparse.Namespace) -> int:
    if not args.path.startswith("/"):
        raise UsageError(f"PATH must be absolute on the hosts, got {args.path!r}")
    hosts = _hosts(args)
    args.destination.mkdir(parents=True, exist_ok=True)
    outcomes = on_hosts(
        hosts,
        lambda c, h: jobs.collect(c, h, args.path, args.destination),
        workers=args.workers,
        label="room collect",
    )
    table = Table("host", "files", "into", title=f"room collect: {args.path}")
    for o in outcomes:
        if o.error is not None:
            table.add_row(o.host.name, "-", o.error)
        else:
            table.add_row(o.host.name, str(o.value), str(args.destination / o.host.name))
    output.stdout_console().print(table)
    return _finish(_failed_hosts(outcomes), len(hosts))


def _quote(word: str) -> str:
    import shlex

    return shlex.quote(word)
