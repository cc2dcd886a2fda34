"""`labdock usage`: space per repository, shared blobs counted once, and the registry
volume's real size on disk when the registry runs on this host."""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit

from labdock import output
from labdock.arguments import positive_int
from labdock.config import add_connection_arguments, settings_from_args
from labdock.engine import RegistryVolume, registry_volume
from labdock.errors import LabdockError
from labdock.imagegraph import walk
from labdock.registry import RegistryClient
from labdock.usage import summarize


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "usage",
        help="space per repository (tags, manifests, referenced bytes), largest first",
        description=(
            "Per repository: tags, distinct manifests and the bytes its manifests reference. "
            "Blobs shared across repositories count once in the total. When the registry "
            "runs on this host, also the registry volume's size on disk."
        ),
    )
    add_connection_arguments(parser)
    parser.add_argument(
        "--workers", type=positive_int, default=16, help="concurrent requests (default 16)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    with (
        RegistryClient(settings, pool_size=args.workers) as client,
        output.WalkProgressBar("repositories") as progress,
    ):
        graphs = walk(client, workers=args.workers, progress=progress)
    usage = summarize(graphs)
    volume = _local_volume(urlsplit(settings.url).port or 443)
    if args.json:
        document = {"registry": settings.url, **usage.as_dict(), "volume": None}
        if volume is not None:
            document["volume"] = {
                "container": volume.container,
                "name": volume.volume,
                "mountpoint": str(volume.mountpoint),
                "bytes_on_disk": volume.bytes_on_disk,
            }
        output.print_json(document)
    else:
        output.stdout_console().print(output.usage_table(settings.url, usage, volume))
    return 0


def _local_volume(port: int) -> RegistryVolume | None:
    # The size on disk is extra information: a registry on another host, or no engine here,
    # leaves it out rather than failing the report.
    try:
        return registry_volume(port)
    except (LabdockError, OSError):
        return None
