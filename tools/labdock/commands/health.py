"""`labdock health registry`: is the registry up, enforcing auth, accepting our credentials,
and serving a certificate we trust that is not about to expire?"""

from __future__ import annotations

import argparse
from pathlib import Path

from labdock import output
from labdock.arguments import positive_int
from labdock.checks import exit_code, failure_summary
from labdock.config import add_connection_arguments, settings_from_args
from labdock.registry_health import check_registry


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("health", help="check the health of a lab service")
    targets = parser.add_subparsers(dest="target", required=True, metavar="TARGET")
    registry = targets.add_parser(
        "registry",
        help="reachable, auth enforced, credentials accepted, certificate valid",
        description="Check the registry: each check is a row; exit 1 if any failed.",
    )
    add_connection_arguments(registry)
    registry.add_argument(
        "--min-days",
        type=positive_int,
        default=14,
        help="fail when the certificate expires within this many days (default 14)",
    )
    registry.add_argument("--json", action="store_true", help="print JSON instead of a table")
    registry.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML")
    registry.set_defaults(run=run_registry)


def run_registry(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    results = check_registry(settings, min_days=args.min_days)
    if args.json:
        output.print_json(
            {
                "registry": settings.url,
                "checks": [r.as_dict() for r in results],
                "ok": all(r.ok for r in results),
            }
        )
    else:
        output.stdout_console().print(output.checks_table(f"registry {settings.url}", results))
    if args.junit is not None:
        output.write_junit(args.junit, "labdock.health.registry", results)
    summary = failure_summary(results)
    if summary is not None:
        output.error_line(summary)
    return exit_code(results)
