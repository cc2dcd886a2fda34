"""`labdock prune`: apply retention rules (flags or a policy file) to images, never touching
what the lab deploys or would roll back to; `--dry-run` prints, per repository, every image
kept or deleted and why; a real run deletes by digest and prints what it removed."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from labdock import expect, output
from labdock.arguments import positive_int
from labdock.config import add_connection_arguments, client_file_path, settings_from_args
from labdock.engine import running_digests
from labdock.errors import UsageError
from labdock.imagegraph import walk
from labdock.registry import RegistryClient
from labdock.retention import (
    Protection,
    Rule,
    decide,
    deletions,
    load_digest_file,
    load_policy,
    rule_from_mapping,
)
from labdock.tagdelete import apply

EXPECTED_CATALOG = "expected-catalog.json"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prune",
        help="delete images by retention rules, keeping what the lab deploys",
        description=(
            "Delete the images retention rules select, each with every tag on it: in "
            "repositories matching --repositories (or each rule of --policy), every image "
            "(manifest or index) not among the newest --keep-last images, with no tag matching "
            "a --keep-tag, and older than --older-than-days. Digests in the expected catalog, "
            "the images of this engine's containers and --protect-digests are always kept."
        ),
    )
    add_connection_arguments(parser)
    rules = parser.add_argument_group("one rule from flags (or --policy)")
    rules.add_argument("--policy", type=Path, metavar="FILE", help="JSON/YAML list of rules")
    rules.add_argument("--repositories", metavar="GLOB", help="repositories to prune (students/*)")
    rules.add_argument("--keep-last", type=int, metavar="N", help="keep the newest N images")
    rules.add_argument(
        "--keep-tag",
        action="append",
        default=[],
        metavar="REGEX",
        help="keep the images of matching tags",
    )
    rules.add_argument(
        "--older-than-days", type=float, metavar="D", help="delete only images older than D days"
    )
    keep = parser.add_argument_group("what is never deleted")
    keep.add_argument(
        "--expected-catalog",
        type=Path,
        metavar="FILE",
        help=f"the images role's {EXPECTED_CATALOG} (default: beside client.json)",
    )
    keep.add_argument(
        "--protect-digests",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help=(
            "digests to keep: a JSON object (digest -> where it is used), a JSON list or one "
            "per line; the maintenance play lists the lab hosts' containers and rollback targets"
        ),
    )
    keep.add_argument(
        "--no-local-engine",
        action="store_true",
        help="do not ask this host's Docker engine which images its containers use",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print every image kept or deleted, and why, per repository; delete nothing",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--workers", type=positive_int, default=16, help="concurrent requests (default 16)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Everything local first: a typo fails before any network work.
    rules = _rules(args)
    settings = settings_from_args(args)
    protection = _protection(args)
    with RegistryClient(settings, pool_size=args.workers) as client:
        selected = [name for name in client.catalog() if any(rule.selects(name) for rule in rules)]
        with output.WalkProgressBar("repositories") as progress:
            graphs = walk(
                client,
                workers=args.workers,
                repositories=selected,
                with_created=True,
                progress=progress,
            )
        now = dt.datetime.now(dt.UTC)
        decisions = {g.name: decide(g, rules, protection, now) for g in graphs}
        planned = [d for g in graphs for d in deletions(g, decisions[g.name], protection)]
        if not args.dry_run:
            apply(client, planned, workers=args.workers)
    images = [d for g in graphs for d in decisions[g.name]]
    if args.json:
        output.print_json(
            {
                "registry": settings.url,
                "dry_run": args.dry_run,
                "deleted": [d.as_dict() for d in planned],
                "images": [d.as_dict() for d in images],
                "protected_from": protection.sources,
            }
        )
        return 0
    verb = "would delete" if args.dry_run else "deleted"
    gone = [d for d in images if not d.keep]
    title = (
        f"{settings.url}: {verb} {len([d for d in planned if d.tag])} tags of {len(gone)} "
        f"images, kept {len(images) - len(gone)} images, in {len(graphs)} repositories"
    )
    console = output.stdout_console()
    if args.dry_run:
        console.print(output.retention_table(title, images))
    else:
        console.print(output.deletions_table(title, planned))
    console.print("never deleted: " + "; ".join(protection.sources), style="dim")
    return 0


def _rules(args: argparse.Namespace) -> list[Rule]:
    flags = {
        "repositories": args.repositories,
        "keep_last": args.keep_last,
        "keep_tags": args.keep_tag or None,
        "older_than_days": args.older_than_days,
    }
    given = {k: v for k, v in flags.items() if v is not None}
    if args.policy is not None:
        if given:
            raise UsageError("give either --policy or rule flags (--repositories ...), not both")
        return load_policy(args.policy)
    if "repositories" not in given:
        raise UsageError("nothing to prune: give --policy FILE or --repositories GLOB")
    return [rule_from_mapping(given, "command line")]


def _protection(args: argparse.Namespace) -> Protection:
    protection = Protection()
    catalog = args.expected_catalog
    if catalog is None:
        beside = client_file_path().parent / EXPECTED_CATALOG
        catalog = beside if beside.is_file() else None
        if catalog is None:
            protection.sources.append(f"no expected catalog at {beside}")
    if catalog is not None:
        digests = [e.digest for e in expect.load(catalog) if e.digest]
        protection.add(digests, f"expected catalog {catalog}")
        protection.sources.append(f"{len(set(digests))} digests from expected catalog {catalog}")
    for path in args.protect_digests:
        found = load_digest_file(path)
        for digest, where in found.items():
            protection.add([digest], where)
        protection.sources.append(f"{len(found)} digests listed in {path}")
    if args.no_local_engine:
        protection.sources.append("this host's containers not asked (--no-local-engine)")
    else:
        running = running_digests()
        for digest, container in running.items():
            protection.add([digest], f"used by container {container}")
        protection.sources.append(f"{len(running)} digests used by this host's containers")
    return protection
