"""`labdock grade` on a class: the same submissions graded several at a time and one at a
time, in the same run. Prints wall time and time per student for each; asserts nothing.

The class is made from the prepared 001 submissions (tests/data/grade/001), cycled and
renamed to reach --size students, each a git clone; a throwaway registry answers the
registry checks (nothing is pushed, so those are quick 404s in both runs alike). Each run's
images are removed at its end, so the second run does not start from the first run's
tagged images; their untagged parent layers stay as build cache, which only the second
run (one at a time) finds: the ratio flatters that run, if anything. Cleans up what it
started.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from labdock.grade.checks import CHECKS
from labdock.grade.context import Submission
from labdock.grade.grids import load
from labdock.grade.runner import Options, StudentResult, grade_class
from labdock.grade.sandbox import connect, new_run_id, remove_run
from tests.harness.grading import hand_in, prepared
from tests.harness.registry import ThrowawayRegistry

GRID = "001"


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench grade", description=__doc__)
    parser.add_argument("--size", type=int, default=20, help="students in the class (20)")
    parser.add_argument("--jobs", type=int, default=4, help="submissions at once (4)")
    args = parser.parse_args(argv)
    grid = load(GRID, CHECKS)
    client = connect()
    with tempfile.TemporaryDirectory(prefix="labdock-bench-grade-") as tmp:
        work = Path(tmp)
        sources = itertools.cycle(prepared(GRID))
        folders = [
            hand_in(next(sources), work / "class", f"student{index:02d}")
            for index in range(args.size)
        ]
        with ThrowawayRegistry(work / "registry", project_prefix="labdock-bench") as registry:
            timings = {}
            for jobs in (args.jobs, 1):
                options = Options(run_id=new_run_id(), registry=registry.settings)
                submissions = [Submission.from_folder(folder) for folder in folders]
                started = time.monotonic()
                try:
                    results = grade_class(client, grid, submissions, options, jobs=jobs)
                finally:
                    remove_run(client, options.run_id)
                timings[jobs] = (time.monotonic() - started, results)
    client.close()
    _print(args.size, timings)
    return 0


def _print(size: int, timings: dict[int, tuple[float, list[StudentResult]]]) -> None:
    print(f"labdock grade {GRID}: a class of {size} submissions")
    print(f"{'jobs':>5} {'wall s':>8} {'s/student (wall)':>17} {'median s':>9} {'max s':>7}")
    for jobs, (wall, results) in sorted(timings.items(), reverse=True):
        each = [r.seconds for r in results]
        print(
            f"{jobs:>5} {wall:>8.1f} {wall / size:>17.1f} {statistics.median(each):>9.1f} "
            f"{max(each):>7.1f}"
        )
    one, many = min(timings), max(timings)
    print(f"--jobs {many} against --jobs {one}: {timings[one][0] / timings[many][0]:.2f}x faster")
    scores = {jobs: [r.earned for r in results] for jobs, (_, results) in timings.items()}
    print(f"same scores in both runs: {len(set(map(tuple, scores.values()))) == 1}")
