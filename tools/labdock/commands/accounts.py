"""`labdock accounts list` and `labdock accounts export`: the registry accounts the registry
role made (admin, pull-only, one per student), and the sheet a teacher hands out."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rich.table import Table

from labdock import output
from labdock.accounts import ROLES, index_path, load_index, sheet_rows, to_csv, to_html


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("accounts", help="list the registry accounts; export the sheet")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    listing = verbs.add_parser(
        "list",
        help="every account, its role and namespace (no passwords)",
        description="List the registry accounts the registry role made.",
    )
    _add_index_argument(listing)
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(run=run_list)

    export = verbs.add_parser(
        "export",
        help="students' accounts with their passwords, as CSV or a printable HTML sheet",
        description=(
            "Print each student's user, password, namespace and login command. The output holds "
            "passwords: --output writes it readable by you only."
        ),
    )
    _add_index_argument(export)
    export.add_argument(
        "--format", choices=("csv", "html"), default="csv", help="csv (default) or html"
    )
    export.add_argument(
        "--role",
        choices=ROLES,
        action="append",
        help="accounts of this role (repeatable; default: student)",
    )
    export.add_argument("--output", type=Path, metavar="FILE", help="write here (0600)")
    export.set_defaults(run=run_export)


def _add_index_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--accounts",
        type=Path,
        metavar="FILE",
        help="the registry role's accounts index (default: the `accounts` entry of client.json)",
    )


def run_list(args: argparse.Namespace) -> int:
    index = load_index(index_path(args.accounts))
    if args.json:
        output.print_json(
            {
                "registry": index.registry,
                "auth": index.auth,
                "accounts": [a.as_dict() for a in index.accounts],
            }
        )
        return 0
    table = Table(title=f"{index.registry} ({index.auth} auth): {len(index.accounts)} accounts")
    table.add_column("account", style="bold cyan")
    table.add_column("role")
    table.add_column("may push to", style="green")
    for account in index.accounts:
        where = {"admin": "everything", "pull": "nothing (pull only)"}.get(
            account.role, f"{account.namespace}*"
        )
        table.add_row(account.name, account.role, where)
    output.stdout_console().print(table)
    return 0


def run_export(args: argparse.Namespace) -> int:
    index = load_index(index_path(args.accounts))
    rows = sheet_rows(index, index.with_roles(args.role or ["student"]))
    text = to_csv(rows) if args.format == "csv" else to_html(index.registry, rows)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    # Created 0600 before anything is written: the sheet holds passwords.
    descriptor = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(args.output, 0o600)
    output.stderr_console().print(f"{len(rows)} accounts written to {args.output}")
    return 0
