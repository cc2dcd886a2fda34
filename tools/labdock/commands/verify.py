"""`labdock verify [STACK...]`: check the deployed course stacks against the course's rules;
`--disruptive` also crashes the apps and recreates containers to check they recover."""

from __future__ import annotations

import argparse
from pathlib import Path

from labdock import output
from labdock.config import (
    add_connection_arguments,
    lab_project_prefix,
    lab_stacks,
    settings_from_args,
)
from labdock.errors import LabdockError, UsageError
from labdock.registry import RegistryClient
from labdock.stackcheck.discovery import (
    connect,
    deployed_stacks,
)
from labdock.stackcheck.registry_ui import ui_note
from labdock.stackcheck.runner import verify_stack


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check the deployed course stacks (health, endpoints, digests, PID 1, restarts)",
        description=(
            "Check each service of the deployed course stacks: running and healthy, its "
            "endpoint answering as the course says, the registry's digest for its tag, the app "
            "as PID 1, a restart policy. Exit 0 all passed, 1 a check failed, 2 could not run."
        ),
    )
    parser.add_argument(
        "stacks",
        nargs="*",
        metavar="STACK",
        help="stacks to check (default: every deployed one of the lab's, client.json's stacks)",
    )
    parser.add_argument(
        "--project-prefix",
        help="compose project name prefix of the stacks (default: client.json's project_prefix)",
    )
    parser.add_argument(
        "--disruptive",
        action="store_true",
        help="also crash each app and recreate containers with volumes, timing the recovery",
    )
    add_connection_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    known = lab_stacks()
    unknown = sorted(set(args.stacks) - set(known or args.stacks))
    if unknown:
        raise UsageError(f"unknown stack {', '.join(unknown)}; known: {', '.join(known or ())}")
    prefix = args.project_prefix or lab_project_prefix()
    client = connect()
    try:
        stacks = args.stacks or deployed_stacks(client, prefix, known)
        if not stacks:
            raise LabdockError(f"no course stack is deployed under prefix {prefix!r}")
        settings = settings_from_args(args)
        with RegistryClient(settings) as registry:
            results = [
                result
                for stack in stacks
                for result in verify_stack(
                    client,
                    registry,
                    stack,
                    f"{prefix}{stack}",
                    disruptive=args.disruptive,
                )
            ]
        # The registry project follows the same prefix (labdock-registry).
        notes = [note for note in [ui_note(client, f"{prefix}registry")] if note]
    finally:
        client.close()
    return output.report_checks(
        results,
        title="course stacks",
        suite="labdock.verify",
        as_json=args.json,
        junit=args.junit,
        context={"stacks": list(stacks)},
        notes=notes,
    )
