"""Retention decisions, sibling-safe deletion plans and usage sums on hand-built graphs."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from labdock.errors import ConfigError
from labdock.imagegraph import RepositoryGraph, parse_created
from labdock.registry import Manifest
from labdock.retention import (
    Protection,
    Rule,
    decide,
    deletions,
    load_digest_file,
    rule_from_mapping,
)
from labdock.tagdelete import DELETE_CHILD, DELETE_MANIFEST, UNTAG, plan
from labdock.usage import human_bytes, summarize

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def digest(name: str) -> str:
    return "sha256:" + name * (64 // len(name)) + "0" * (64 % len(name))


def image(name: str, *blobs: tuple[str, int], days_old: float | None = None) -> Manifest:
    config = digest(f"c{name}")
    body = {
        "config": {"digest": config, "size": 10},
        "layers": [{"digest": d, "size": s} for d, s in blobs],
    }
    return Manifest(digest(name), "application/vnd.oci.image.manifest.v1+json", 100, body)


def index(name: str, *children: str) -> Manifest:
    body = {"manifests": [{"digest": c} for c in children]}
    return Manifest(digest(name), "application/vnd.oci.image.index.v1+json", 100, body)


def graph(
    name: str, manifests: list[Manifest], tags: dict[str, str], ages: dict
) -> RepositoryGraph:
    g = RepositoryGraph(name, {t: digest(d) for t, d in tags.items()})
    g.manifests = {m.digest: m for m in manifests}
    g.created = {digest(f"c{n}"): NOW - dt.timedelta(days=days) for n, days in ages.items()}
    return g


def test_delete_of_a_shared_digest_untags_instead() -> None:
    g = graph("web", [image("a"), image("b")], {"1.0": "a", "latest": "a", "dev": "b"}, {})
    steps = {(d.tag, d.method) for d in plan(g, {"latest": "asked", "dev": "asked"})}
    assert steps == {("latest", UNTAG), ("dev", DELETE_MANIFEST)}


def test_all_tags_of_a_digest_go_with_one_delete() -> None:
    g = graph("web", [image("a")], {"1.0": "a", "latest": "a"}, {})
    steps = plan(g, {"1.0": "x", "latest": "x"})
    assert {d.method for d in steps} == {DELETE_MANIFEST}


def test_deleted_index_takes_its_unshared_children_and_keeps_shared_ones() -> None:
    manifests = [image("a"), image("b"), image("c"), index("i", digest("a"), digest("b"))]
    manifests.append(index("j", digest("b"), digest("c")))
    g = graph("multi", manifests, {"old": "i", "new": "j"}, {})
    steps = plan(g, {"old": "x"})
    children = {d.digest for d in steps if d.method == DELETE_CHILD}
    assert children == {digest("a")}  # b is also in the kept index j


def test_a_child_of_a_kept_index_is_only_untagged() -> None:
    g = graph("multi", [image("a"), index("i", digest("a"))], {"i": "i", "amd64": "a"}, {})
    assert [(d.tag, d.method) for d in plan(g, {"amd64": "x"})] == [("amd64", UNTAG)]


def test_protected_child_survives_its_index() -> None:
    g = graph("multi", [image("a"), index("i", digest("a"))], {"old": "i"}, {})
    assert [d.method for d in plan(g, {"old": "x"}, [digest("a")])] == [DELETE_MANIFEST]


def rule(**conditions: object) -> Rule:
    return rule_from_mapping({"repositories": "*", **conditions}, "test")


def kept_tags(g: RepositoryGraph, rules: list[Rule], protection: Protection | None = None) -> set:
    decisions = decide(g, rules, protection or Protection(), NOW)
    return {tag for d in decisions if d.keep for tag in d.tags}


def course_app() -> RepositoryGraph:
    """The issue's course app: versions 1.0 to 1.5, one image each, 10 days apart (1.5 the
    newest), and `latest` on 1.5."""
    versions = ["1.0", "1.1", "1.2", "1.3", "1.4", "1.5"]
    names = "abcdef"
    tags = dict(zip(versions, names, strict=True)) | {"latest": "f"}
    ages = {n: 60 - 10 * i for i, n in enumerate(names)}
    return graph("course/app", [image(n) for n in names], tags, ages)


def test_keep_last_counts_images_not_tags() -> None:
    # keep_last 3 means three versions: 1.5 (with latest, one image), 1.4 and 1.3.
    kept = kept_tags(course_app(), [rule(keep_last=3, keep_tags=["^latest$"])])
    assert kept == {"1.5", "latest", "1.4", "1.3"}


def test_every_kept_image_says_why_and_every_deleted_one_too() -> None:
    decisions = decide(course_app(), [rule(keep_last=3, keep_tags=["^latest$"])], Protection(), NOW)
    assert [d.tags for d in decisions] == [
        ("1.5", "latest"),
        ("1.4",),
        ("1.3",),
        ("1.2",),
        ("1.1",),
        ("1.0",),
    ]
    why = {d.tags[0]: d.why for d in decisions}
    assert why["1.5"] == "number 1 of the newest 3; tag latest matches keep_tags '^latest$'"
    assert why["1.3"] == "number 3 of the newest 3"
    assert why["1.2"] == "rule *, keep last 3; number 4 by age; 40 days old"
    assert [d.keep for d in decisions] == [True, True, True, False, False, False]


def test_keep_tags_keeps_its_image_on_top_with_every_tag() -> None:
    # A student whose `latest` is still the first try: keep_last 1 keeps try2, the newest,
    # and ^latest$ keeps try1's image too, both of its tags with it.
    g = graph(
        "students/s20",
        [image("a"), image("b")],
        {"try1": "a", "latest": "a", "try2": "b"},
        {"a": 3, "b": 1},
    )
    assert kept_tags(g, [rule(keep_last=1, keep_tags=["^latest$"])]) == {"try1", "latest", "try2"}
    assert kept_tags(g, [rule(keep_last=1)]) == {"try2"}


def test_an_index_counts_as_one_image_as_old_as_its_newest_platform() -> None:
    manifests = [image(n) for n in "abcd"] + [
        index("i", digest("a"), digest("b")),
        index("j", digest("c"), digest("d")),
    ]
    g = graph("course/multi", manifests, {"1.0": "i", "1.1": "j"}, {"a": 9, "b": 5, "c": 4, "d": 8})
    assert kept_tags(g, [rule(keep_last=1)]) == {"1.1"}
    children = {
        d.digest
        for d in deletions(g, decide(g, [rule(keep_last=1)], Protection(), NOW), Protection())
    }
    assert children == {digest("i"), digest("a"), digest("b")}


def test_a_protected_image_stays_whatever_the_rule_and_says_where_it_is_used() -> None:
    protection = Protection()
    protection.add([digest("b")], "pc01:/opt/labdock/frontend_backend/.env.previous")
    decisions = decide(course_app(), [rule(keep_last=3)], protection, NOW)
    why = {d.tags[0]: d.why for d in decisions if d.keep}
    assert set(why) == {"1.5", "1.4", "1.3", "1.1"}
    assert why["1.1"] == "protected: pc01:/opt/labdock/frontend_backend/.env.previous"


def test_decide_by_age_and_regex_per_image() -> None:
    g = graph(
        "students/alice",
        [image(n) for n in "abcde"],
        {"v1": "a", "old": "b", "mid": "c", "new": "d", "fresh": "e"},
        {"a": 200, "b": 100, "c": 50, "d": 10, "e": 1},
    )
    policy = [rule(keep_last=2, keep_tags=["^v"], older_than_days=60)]
    # fresh and new: newest two; mid: 50 days, not older than 60; v1 by regex; old goes.
    assert kept_tags(g, policy) == {"fresh", "new", "mid", "v1"}
    decisions = decide(g, policy, Protection(), NOW)
    assert [d.tag for d in deletions(g, decisions, Protection())] == ["old"]


def test_repositories_no_rule_selects_are_kept() -> None:
    g = graph("teachers/bob", [image("a")], {"x": "a"}, {"a": 999})
    rule = rule_from_mapping({"repositories": "students/*", "keep_last": 0}, "test")
    assert all(d.keep for d in decide(g, [rule], Protection(), NOW))


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"repositories": "x"}, "give 'keep_last' or 'older_than_days'"),
        ({"repositories": "x", "keep_last": -1}, "'keep_last' must be a whole number"),
        ({"repositories": "x", "keep_last": 1, "keep_tags": ["("]}, "regex '(' is invalid"),
        ({"repositories": "x", "keep_last": 1, "keep": 3}, "unknown keys keep"),
        ({"keep_last": 1}, "'repositories' must be a glob"),
    ],
)
def test_bad_rules_name_what_is_wrong(rule: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        rule_from_mapping(rule, "policy rule 0")


def test_usage_counts_shared_blobs_once() -> None:
    layer = (digest("f"), 1000)
    one = graph("one", [image("a", layer, (digest("e"), 50))], {"t": "a"}, {})
    two = graph("two", [image("b", layer)], {"t": "b"}, {})
    usage = summarize([two, one])
    assert [r.name for r in usage.repositories] == ["one", "two"]  # largest first
    assert usage.repositories[0].bytes == 1000 + 50 + 10
    assert usage.repositories[0].shared_bytes == 1000
    assert usage.total_bytes == 1000 + 50 + 10 + 10
    assert usage.shared_bytes == 1000


def test_created_time_and_sizes_parse() -> None:
    created = parse_created(json.dumps({"created": "2026-10-01T10:00:00.123456789Z"}).encode())
    assert created == dt.datetime(2026, 10, 1, 10, 0, 0, 123456, tzinfo=dt.UTC)
    assert parse_created(b"{}").year == 1970
    assert [human_bytes(n) for n in (999, 1500, 2_500_000, 3_000_000_000)] == [
        "999 B",
        "1.5 kB",
        "2.5 MB",
        "3.0 GB",
    ]


def test_digest_files_give_where_each_digest_is_used(tmp_path) -> None:
    where = tmp_path / "protected.json"
    where.write_text(json.dumps({digest("a"): ["pc01: .env", "pc02: .env"], digest("b"): "x"}))
    assert load_digest_file(where) == {digest("a"): "pc01: .env, pc02: .env", digest("b"): "x"}
    listed = tmp_path / "digests.txt"
    listed.write_text(f"web@{digest('a')}\n{digest('b')}\n")
    assert load_digest_file(listed) == {
        digest("a"): f"listed in {listed}",
        digest("b"): f"listed in {listed}",
    }
    listed.write_text("web:1.0\n")
    with pytest.raises(ConfigError, match=r"'web:1\.0' is not a sha256: digest"):
        load_digest_file(listed)
