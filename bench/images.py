"""What the images role buys: image sizes beside the course's way, and a no-change run of
the images play beside a cold one.

Sizes: each Python app's image as the role builds it, beside a course-style image of the
same app: one stage FROM a full Debian bookworm with python3, pip, build-essential and
python3-dev (debootstrapped from the same Debian mirror in this run, imported as
labdock-bench/course-python), the app and its requirements pip-installed, Flask's dev
server as the command. The course-style images are only measured, never run.

Times: playbooks/images.yml against a throwaway registry (own project, loopback port), first
cold (nothing of that registry's images exists locally or in it), then again with nothing
changed. Prints tables and ratios; asserts nothing. Cleans up what it started.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import docker
import docker.errors
import yaml

from tests.harness.docker_images import untag_under
from tests.harness.registry import ThrowawayRegistry

REPO_ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = REPO_ROOT / "playbooks" / "images.yml"
# The lab's image list is defined once, in group_vars (the role reads it as images_apps).
GROUP_VARS = REPO_ROOT / "inventory" / "group_vars" / "all.yml"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
COURSE_BASE = "labdock-bench/course-python:bookworm"
COURSE_PACKAGES = "python3,python3-pip,python3-dev,build-essential"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
# The course's Dockerfile shape: one stage, everything in it, the dev server.
COURSE_DOCKERFILE = """\
FROM {base}
WORKDIR /app
COPY . /app
RUN if [ -f requirements.txt ]; then pip3 install --break-system-packages --no-index \\
        --find-links wheels -r requirements.txt; fi
ENV FLASK_APP=app.py
CMD ["flask", "run", "--host=0.0.0.0"]
"""
SIZE_TARGET = 0.2
TIME_TARGET = 0.1


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench images", description=__doc__)
    parser.add_argument(
        "--base-ref",
        action="append",
        default=[],
        metavar="NAME=REF",
        help="local ref of a base image (default labdock/<name>:latest), repeatable",
    )
    parser.add_argument(
        "--reuse-course-base",
        action="store_true",
        help=f"use {COURSE_BASE} if present instead of debootstrapping it in this run",
    )
    args = parser.parse_args(argv)
    base_refs = dict(item.split("=", 1) for item in args.base_ref)
    apps = present_apps()
    client = docker.from_env()
    try:
        with tempfile.TemporaryDirectory(prefix="labdock-bench-") as workdir:
            with ThrowawayRegistry(
                Path(workdir) / "registry", project_prefix="labdock-bench-images"
            ) as lab:
                try:
                    cold, warm = time_plays(lab, apps, base_refs, Path(workdir))
                    ours = {
                        app["name"]: image_size(client, f"{lab.address}/{app['name']}:latest")
                        for app in apps
                    }
                finally:
                    untag_under(client, lab.address)
            ensure_course_base(client, Path(workdir), reuse=args.reuse_course_base)
            course = {
                app["name"]: course_size(client, app)
                for app in apps
                if "php-apache" not in app["bases"]
            }
    finally:
        client.close()
    print_sizes(ours, course)
    print_times(cold, warm)
    return 0


def present_apps() -> list[dict]:
    """The lab's course images whose build context exists in this tree."""
    images = yaml.safe_load(GROUP_VARS.read_text(encoding="utf-8"))["labdock_images"]
    apps = [app for app in images if (REPO_ROOT / "apps" / app["context"]).is_dir()]
    missing = {app["name"] for app in images} - {app["name"] for app in apps}
    if missing:
        print(f"bench images: no build context for {', '.join(sorted(missing))}; left out")
    return apps


def time_plays(
    lab: ThrowawayRegistry, apps: list[dict], base_refs: dict[str, str], workdir: Path
) -> tuple[float, float]:
    """Wall time of a cold run of the images play, then of a run with nothing changed."""
    extra = {
        **lab.images_play_vars(workdir),
        "images_apps": apps,
        "images_base_refs": base_refs,
    }
    vars_file = workdir / "vars.json"
    vars_file.write_text(json.dumps(extra), encoding="utf-8")
    vars_file.chmod(0o600)
    return run_play(vars_file, "cold"), run_play(vars_file, "no change")


def run_play(vars_file: Path, label: str) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), str(PLAYBOOK), "-e", f"@{vars_file}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"bench images: {label} run failed:\n{result.stdout[-3000:]}")
    recap = [line for line in result.stdout.splitlines() if "changed=" in line]
    print(f"{label} run: {elapsed:.1f}s  {recap[-1].strip() if recap else ''}")
    return elapsed


def image_size(client: docker.DockerClient, ref: str) -> int:
    return client.images.get(ref).attrs["Size"]


def ensure_course_base(client: docker.DockerClient, workdir: Path, *, reuse: bool) -> None:
    """The course's base: full Debian with the compiler toolchain and headers."""
    if reuse:
        with contextlib.suppress(docker.errors.ImageNotFound):
            client.images.get(COURSE_BASE)
            print(f"course base {COURSE_BASE} reused")
            return
    rootfs = workdir / "course-rootfs"
    started = time.perf_counter()
    subprocess.run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={COURSE_PACKAGES}",
            "bookworm",
            str(rootfs),
            DEBIAN_MIRROR,
        ],
        check=True,
        capture_output=True,
    )
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    subprocess.run(
        ["docker", "import", "-", COURSE_BASE], stdin=tar.stdout, check=True, capture_output=True
    )
    tar.wait()
    elapsed = time.perf_counter() - started
    print(f"course base {COURSE_BASE} debootstrapped and imported in {elapsed:.0f}s")


def course_size(client: docker.DockerClient, app: dict) -> int:
    context = REPO_ROOT / "apps" / app["context"]
    tag = f"labdock-bench/course-{app['name']}:latest"
    with tempfile.NamedTemporaryFile("w", suffix=".Dockerfile", delete=False) as dockerfile:
        dockerfile.write(COURSE_DOCKERFILE.format(base=COURSE_BASE))
    try:
        # The Dockerfile lives outside the context: the SDK sends it alongside. No
        # .dockerignore trimming either, as in the course.
        image, _ = client.images.build(
            path=str(context), dockerfile=dockerfile.name, tag=tag, rm=True
        )
        return image.attrs["Size"]
    finally:
        os.unlink(dockerfile.name)
        with contextlib.suppress(docker.errors.ImageNotFound):
            client.images.remove(tag)


def print_sizes(ours: dict[str, int], course: dict[str, int]) -> None:
    print(f"\n{'image':<16}{'labdock MB':>12}{'course MB':>12}{'ratio':>8}")
    for name, size in ours.items():
        if name in course:
            ratio = size / course[name]
            print(f"{name:<16}{size / 1e6:>12.0f}{course[name] / 1e6:>12.0f}{ratio:>8.2f}")
        else:
            print(f"{name:<16}{size / 1e6:>12.0f}{'n/a':>12}{'':>8}")
    if "student_age" in course:
        ratio = ours["student_age"] / course["student_age"]
        verdict = "met" if ratio <= SIZE_TARGET else "MISSED"
        print(f"student_age target <= {SIZE_TARGET}x: {verdict} ({ratio:.2f}x)")


def print_times(cold: float, warm: float) -> None:
    print(f"\n{'images play':<16}{'wall s':>10}")
    print(f"{'cold':<16}{cold:>10.1f}")
    print(f"{'no change':<16}{warm:>10.1f}")
    ratio = warm / cold
    verdict = "met" if ratio <= TIME_TARGET else "MISSED"
    print(f"no-change / cold target <= {TIME_TARGET}x: {verdict} ({ratio:.2f}x)")
