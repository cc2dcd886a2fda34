"""`labdock demo STACK`: start an interactive demo (the socket chat) again after it ended,
and say how to attach to it."""

from __future__ import annotations

import argparse

from labdock import output
from labdock.config import lab_project_prefix, lab_stacks
from labdock.demo import restart_demo
from labdock.errors import ExitCode, UsageError
from labdock.stackcheck.discovery import connect

DEFAULT_TIMEOUT = 60.0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="start an interactive demo stack (socket_chat) again and print how to attach",
        description=(
            "Stop and start the interactive programs of a deployed stack in dependency order "
            "(the socket chat's server, then its client), wait until each is healthy and print "
            "the `docker attach` commands. Exit 0 started, 1 a program did not become healthy, "
            "2 could not run."
        ),
    )
    parser.add_argument("stack", metavar="STACK", help="the demo stack, e.g. socket_chat")
    parser.add_argument(
        "--project-prefix",
        help="compose project name prefix of the stacks (default: client.json's project_prefix)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds each program may take to become healthy (default {DEFAULT_TIMEOUT:.0f})",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    known = lab_stacks()
    if known is not None and args.stack not in known:
        raise UsageError(f"unknown stack {args.stack}; the lab's stacks: {', '.join(known)}")
    prefix = args.project_prefix or lab_project_prefix()
    client = connect()
    try:
        started = restart_demo(client, args.stack, f"{prefix}{args.stack}", args.timeout)
    finally:
        client.close()
    ok = all(s.healthy for s in started)
    if args.json:
        output.print_json(
            {
                "stack": args.stack,
                "ok": ok,
                "started": [
                    {"service": s.service, "container": s.container, "healthy": s.healthy}
                    for s in started
                ],
                "attach": [f"docker attach {s.container}" for s in started],
            }
        )
    else:
        console = output.stdout_console()
        console.print(f"{args.stack} started again; in one terminal per program:")
        for s in started:
            console.print(f"  docker attach {s.container}", highlight=False)
        console.print("Ctrl-p Ctrl-q detaches and leaves it running; `bye` ends the chat.")
    if not ok:
        failed = next(s for s in started if not s.healthy)
        output.error_line(
            f"{failed.service} ({failed.container}) did not become healthy within "
            f"{args.timeout:.0f}s; see `docker logs {failed.container}`"
        )
        return ExitCode.CHECK_FAILED
    return ExitCode.OK
