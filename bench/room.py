"""A room of throwaway hosts: site.yml's wall time on rooms of 1, 3 and 6 hosts (--sizes), the
per-host slope (least squares over the sizes), the projected time for 30 hosts and the largest
room against one host (goal: 6 hosts take at most 2x one host), then `labdock room status` on
the largest room against a loop that asks one host at a time (`labdock room status --limit
HOST` per host), all in the same run.

Each room is cold (new hosts with no Docker, a registry of its own on the controller) and the
previous one is removed before it starts; each room has its own package cache (role
apt_cache), so each downloads the Debian packages once; the controller's layer cache is warm
after the first room. Every room deploys every course stack. Prints the figures; asserts
nothing. Removes the rooms and registries it started.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from tests.harness.playbooks import play_report
from tests.harness.room import Room
from tests.harness.room_site import PlaybookRun, RoomSite

LABDOCK = Path(sys.executable).parent / "labdock"


def site_run(workdir: Path, size: int) -> tuple[PlaybookRun, RoomSite, Room]:
    room = Room(workdir / "hosts", size)
    room.__enter__()  # removes what it started if the start fails
    site = RoomSite(room, workdir)
    return site.run(), site, room


def status_seconds(inventory: Path, limit: str | None = None) -> float:
    command = [str(LABDOCK), "room", "status", "-i", str(inventory), "--json"]
    if limit:
        command += ["--limit", limit]
    started = time.monotonic()
    subprocess.run(command, capture_output=True, check=False, timeout=900)
    return time.monotonic() - started


def compare_status(inventory: Path, hosts: list[str], repeat: int) -> None:
    parallel = [status_seconds(inventory) for _ in range(repeat)]
    loop = [sum(status_seconds(inventory, host) for host in hosts) for _ in range(repeat)]
    print(
        f"labdock room status on {len(hosts)} hosts: "
        f"{statistics.median(parallel):.1f} s parallel, "
        f"{statistics.median(loop):.1f} s one host at a time "
        f"({statistics.median(loop) / statistics.median(parallel):.2f}x), "
        f"median of {repeat}"
    )


def print_scaling(seconds: dict[int, float]) -> None:
    """The per-host slope and intercept of a least-squares line through (hosts, seconds), the
    time it projects for a class of 30, and the largest room against the smallest."""
    sizes = sorted(seconds)
    smallest, largest = sizes[0], sizes[-1]
    if len(sizes) > 1:
        slope, intercept = statistics.linear_regression(sizes, [seconds[n] for n in sizes])
        print(
            f"per extra host: {slope:.0f} s (fixed part {intercept:.0f} s); "
            f"projected for 30 hosts: {intercept + 30 * slope:.0f} s"
        )
    print(
        f"{largest} hosts / {smallest} host(s): {seconds[largest] / seconds[smallest]:.2f}x "
        "(goal <= 2x for 6 hosts against 1)"
    )


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench room", description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="status timings per variant")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1, 3, 6], help="hosts per room (1 3 6)"
    )
    parser.add_argument(
        "--inventory",
        type=Path,
        help="time only `labdock room status` on this already provisioned room's lab hosts",
    )
    parser.add_argument("--hosts", nargs="*", default=[], help="its lab hosts (with --inventory)")
    args = parser.parse_args(argv)
    if args.inventory is not None:
        compare_status(args.inventory, args.hosts, args.repeat)
        return 0
    with tempfile.TemporaryDirectory(prefix="labdock-bench-room-") as tmp:
        runs: dict[int, PlaybookRun] = {}
        sites: list[RoomSite] = []
        rooms: list[Room] = []
        try:
            for size in args.sizes:
                # The previous room is gone first: its hosts' engines would load this run.
                for site, room in zip(sites, rooms, strict=True):
                    site.close()
                    room.close()
                run, site, room = site_run(Path(tmp) / f"room{size}", size)
                sites, rooms = [site], [room]
                runs[size] = run
                print(f"site.yml on {size} host(s): {run.seconds:.0f} s (rc {run.returncode})")
                if run.returncode != 0:
                    print(play_report(run, tail=1500))
            print_scaling({size: run.seconds for size, run in runs.items()})
            largest = sites[-1]
            compare_status(
                largest.inventory_path, [h.name for h in largest.room.hosts], args.repeat
            )
        finally:
            for site in sites:
                site.close()
            for room in rooms:
                room.close()
    return 0
