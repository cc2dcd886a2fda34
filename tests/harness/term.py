"""A registry as a term leaves it, for the maintenance tests and bench.

`fill_course_term`: the term of issue 17, as a teacher describes it (the maintenance play's
test): five course apps with versions 1.0 to 1.5, one image each, 10 days apart, `latest` on
1.5, the fifth app published as two-platform OCI indexes; twenty students with `try1` (3
days old), `try2` (1 day) and `latest` on `try2`, except the last student, whose `latest` is
still on `try1`.

`fill_term`: student repositories with old and new images, a release image shared by every
repository, tags sharing digests, an archive of dated images and a two-platform index
(the CLI test and the bench, at 50 to 1,000 repositories).

Per student repository `students/sNNN` (5 tags):
  a         its own image, 100 days old
  c         its own image, 5 days old
  latest    same digest as c
  1.0       the release image every student repository shares, 120 days old
  release   same digest as 1.0
Also: `archive/xN` (`recent` 10 days, `stale` 40 days), `multi/app` (two-platform indexes
`latest` 3 days and `old` 100 days, each over its own amd64 and arm64 images) and
`siblings/web` (`1.0`, `latest`, `stable` on one digest; `dev` alone).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from labdock.registry import RegistryClient
from tests.harness.populate import TinyImage, index_of, push_index

ARCHIVES = 3
COURSE_APPS = [f"course/app{i}" for i in range(1, 6)]
COURSE_VERSIONS = ["1.0", "1.1", "1.2", "1.3", "1.4", "1.5"]
MULTI_PLATFORM_APP = COURSE_APPS[-1]
TERM_STUDENTS = [f"students/s{i:02d}" for i in range(1, 21)]
# The one student whose `latest` is still on try1.
LATEST_ON_TRY1 = TERM_STUDENTS[-1]


def ago(days: float, now: dt.datetime | None = None) -> str:
    """An RFC 3339 creation time `days` before now, as image configs carry it."""
    when = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=days)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def student_repositories(count: int) -> list[str]:
    return [f"students/s{i:03d}" for i in range(count)]


def fill_term(client: RegistryClient, *, students: int, workers: int = 16) -> dict[str, str]:
    """Fill the registry; returns every `repo:tag` -> manifest digest pushed."""
    refs: dict[str, str] = {}
    release = TinyImage.make("release 1.0\n", created=ago(120))
    names = student_repositories(students)
    release.upload(client, names[0])

    def student(name: str) -> None:
        if name != names[0]:
            release.mount(client, name, names[0])
        for tag in ("1.0", "release"):
            refs[f"{name}:{tag}"] = client.put_manifest(name, tag, release.manifest())
        for tags, days in ((("a",), 100), (("c", "latest"), 5)):
            own = TinyImage.make(f"{name} {tags[0]}\n", created=ago(days))
            own.upload(client, name)
            for tag in tags:
                refs[f"{name}:{tag}"] = client.put_manifest(name, tag, own.manifest())

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(student, names))
    for name, tag, days in _archive_tags():
        image = TinyImage.make(f"{name} {tag}\n", created=ago(days))
        image.upload(client, name)
        refs[f"{name}:{tag}"] = client.put_manifest(name, tag, image.manifest())
    for tag, days in (("latest", 3), ("old", 100)):
        platforms = [
            TinyImage.make(f"multi {tag} {arch}\n", created=ago(days), architecture=arch)
            for arch in ("amd64", "arm64")
        ]
        refs[f"multi/app:{tag}"] = push_index(client, "multi/app", tag, platforms)
    web = TinyImage.make("siblings web\n", created=ago(20))
    web.upload(client, "siblings/web")
    for tag in ("1.0", "latest", "stable"):
        refs[f"siblings/web:{tag}"] = client.put_manifest("siblings/web", tag, web.manifest())
    dev = TinyImage.make("siblings dev\n", created=ago(1))
    dev.upload(client, "siblings/web")
    refs["siblings/web:dev"] = client.put_manifest("siblings/web", "dev", dev.manifest())
    return refs


def _archive_tags() -> Iterator[tuple[str, str, int]]:
    for i in range(ARCHIVES):
        yield f"archive/x{i}", "recent", 10
        yield f"archive/x{i}", "stale", 40


def fill_course_term(client: RegistryClient, *, workers: int = 8) -> dict[str, str]:
    """Fill the registry with issue 17's term; returns every `repo:tag` -> digest pushed.
    About 90 tiny images, each pushed through the API (two blobs and a manifest)."""
    refs: dict[str, str] = {}

    def app(name: str) -> None:
        for number, version in enumerate(COURSE_VERSIONS):
            created = ago(10 * (len(COURSE_VERSIONS) - number))  # 1.0: 60 days, 1.5: 10
            text = f"{name} {version}"
            if name == MULTI_PLATFORM_APP:
                images = [
                    TinyImage.make(f"{text} {arch}\n", created=created, architecture=arch)
                    for arch in ("amd64", "arm64")
                ]
                refs[f"{name}:{version}"] = push_index(client, name, version, images)
                manifest = index_of(images)
            else:
                image = TinyImage.make(f"{text}\n", created=created)
                image.upload(client, name)
                manifest = image.manifest()
                refs[f"{name}:{version}"] = client.put_manifest(name, version, manifest)
        refs[f"{name}:latest"] = client.put_manifest(name, "latest", manifest)

    def student(name: str) -> None:
        for tag, days in (("try1", 3), ("try2", 1)):
            image = TinyImage.make(f"{name} {tag}\n", created=ago(days))
            image.upload(client, name)
            refs[f"{name}:{tag}"] = client.put_manifest(name, tag, image.manifest())
            if tag == ("try1" if name == LATEST_ON_TRY1 else "try2"):
                refs[f"{name}:latest"] = client.put_manifest(name, "latest", image.manifest())

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(app, COURSE_APPS))
        list(pool.map(student, TERM_STUDENTS))
    return refs
