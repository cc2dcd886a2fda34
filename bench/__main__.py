"""`python -m bench [NAME] [ARGS...]`: run one benchmark (default: all, with defaults).

A benchmark is a module here with `main(argv) -> int`; register it in BENCHMARKS.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from bench import auth, catalog, grade, images, maintenance, recovery, rollout, room

BENCHMARKS: dict[str, Callable[[Sequence[str]], int]] = {
    "auth": auth.main,
    "catalog": catalog.main,
    "grade": grade.main,
    "images": images.main,
    "recovery": recovery.main,
    "maintenance": maintenance.main,
    "rollout": rollout.main,
    "room": room.main,
}


def main(argv: Sequence[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(f"usage: python -m bench [{'|'.join(BENCHMARKS)}] [ARGS...]")
        return 0
    if not argv:
        return max(run([]) for run in BENCHMARKS.values())
    name, *rest = argv
    if name not in BENCHMARKS:
        print(
            f"bench: unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}",
            file=sys.stderr,
        )
        return 2
    return BENCHMARKS[name](rest)


raise SystemExit(main(sys.argv[1:]))
