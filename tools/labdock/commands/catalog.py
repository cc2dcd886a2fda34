"""`labdock catalog`: list every repository, tag and digest; optionally check them against
a file of expected entries."""

from __future__ import annotations

import argparse
from pathlib import Path

from labdock import expect, output
from labdock.arguments import positive_int
from labdock.catalog import collect
from labdock.checks import exit_code, failure_summary
from labdock.config import add_connection_arguments, settings_from_args
from labdock.errors import UsageError
from labdock.integrity import check_blobs
from labdock.registry import RegistryClient


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "catalog",
        help="list repositories, tags and digests; check them with --expect",
        description="List every repository, its tags and each tag's manifest digest.",
    )
    add_connection_arguments(parser)
    parser.add_argument(
        "--workers", type=positive_int, default=16, help="concurrent requests (default 16)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--expect",
        type=Path,
        metavar="FILE",
        help="JSON or YAML list of {repository, tag, digest?}: exit 1 if any is missing or differs",
    )
    parser.add_argument(
        "--blobs",
        action="store_true",
        help="with --expect: also check each expected manifest and every blob it references",
    )
    parser.add_argument(
        "--junit", type=Path, metavar="FILE", help="write the --expect checks as JUnit XML"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.blobs and args.expect is None:
        raise UsageError("--blobs needs --expect: it checks the expected tags' blobs")
    if args.junit is not None and args.expect is None:
        raise UsageError("--junit needs --expect: without expectations there is nothing to check")
    # Read everything local first, so a typo fails before minutes of network work.
    settings = settings_from_args(args)
    expected = expect.load(args.expect) if args.expect is not None else None
    with (
        RegistryClient(settings, pool_size=args.workers) as client,
        output.CatalogProgressBar() as progress,
    ):
        repositories = collect(client, workers=args.workers, progress=progress)
    results = expect.compare(expected, repositories) if expected is not None else None
    if results is not None and args.blobs:
        with RegistryClient(settings, pool_size=args.workers) as client:
            results += check_blobs(client, expected or [], workers=args.workers)

    if args.json:
        document: dict[str, object] = {
            "registry": settings.url,
            "repositories": [repo.as_dict() for repo in repositories],
        }
        if results is not None:
            document["checks"] = [r.as_dict() for r in results]
            document["ok"] = all(r.ok for r in results)
        output.print_json(document)
    elif results is not None:
        title = f"expected tags on {settings.url}"
        output.stdout_console().print(output.checks_table(title, results))
    else:
        output.stdout_console().print(output.catalog_table(settings.url, repositories))

    if results is None:
        return 0
    if args.junit is not None:
        output.write_junit(args.junit, "labdock.catalog", results)
    summary = failure_summary(results)
    if summary is not None:
        output.error_line(summary)
    return exit_code(results)
