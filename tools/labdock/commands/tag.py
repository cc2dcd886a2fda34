"""`labdock tag delete REPO:TAG...`: remove exactly those tags; every other tag, on the same
digest or not, stays and still pulls."""

from __future__ import annotations

import argparse

from labdock import output
from labdock.arguments import positive_int
from labdock.config import add_connection_arguments, settings_from_args
from labdock.errors import ExitCode, UsageError
from labdock.imagegraph import walk
from labdock.registry import RegistryClient
from labdock.tagdelete import apply, plan


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("tag", help="act on tags")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    delete = actions.add_parser(
        "delete",
        help="remove tags, keeping their sibling tags",
        description=(
            "Remove exactly the given tags. A tag whose manifest another tag (or an index) "
            "still uses is moved off it first, so the other tags stay and still pull."
        ),
    )
    delete.add_argument("refs", nargs="+", metavar="REPO:TAG", help="tags to remove")
    add_connection_arguments(delete)
    delete.add_argument("--dry-run", action="store_true", help="print the plan, delete nothing")
    delete.add_argument("--json", action="store_true", help="print JSON instead of a table")
    delete.add_argument(
        "--workers", type=positive_int, default=8, help="concurrent requests (default 8)"
    )
    delete.set_defaults(run=run_delete)


def run_delete(args: argparse.Namespace) -> int:
    wanted = _parse_refs(args.refs)
    settings = settings_from_args(args)
    with RegistryClient(settings, pool_size=args.workers) as client:
        graphs = {
            g.name: g for g in walk(client, workers=args.workers, repositories=sorted(wanted))
        }
        missing = [
            f"{repo}:{tag}"
            for repo, tags in wanted.items()
            for tag in tags
            if tag not in graphs[repo].tags
        ]
        if missing:
            output.error_line(f"no such tag: {', '.join(missing)}; nothing deleted")
            return ExitCode.CHECK_FAILED
        deletions = [
            item
            for repo, tags in sorted(wanted.items())
            for item in plan(graphs[repo], {tag: "asked for" for tag in tags})
        ]
        if not args.dry_run:
            apply(client, deletions, workers=args.workers)
    verb = "would delete" if args.dry_run else "deleted"
    if args.json:
        output.print_json(
            {
                "registry": settings.url,
                "dry_run": args.dry_run,
                "deleted": [d.as_dict() for d in deletions],
            }
        )
    else:
        title = f"{settings.url}: {verb} {len([d for d in deletions if d.tag])} tags"
        output.stdout_console().print(output.deletions_table(title, deletions))
    return 0


def _parse_refs(refs: list[str]) -> dict[str, list[str]]:
    wanted: dict[str, list[str]] = {}
    for ref in refs:
        repo, sep, tag = ref.rpartition(":")
        if not sep or not repo or not tag or "/" in tag or "@" in ref:
            raise UsageError(f"{ref!r} is not REPO:TAG (for example students/alice/web:1.0)")
        wanted.setdefault(repo, [])
        if tag not in wanted[repo]:
            wanted[repo].append(tag)
    return wanted
