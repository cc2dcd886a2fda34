"""A registry as a term leaves it, for the maintenance tests and bench: student
repositories with old and new images, a release image shared by every repository, tags
sharing digests, an archive of dated images and a two-platform index.

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
from tests.harness.populate import TinyImage, push_index

ARCHIVES = 3


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
