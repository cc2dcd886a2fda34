"""Retention decisions, sibling-safe deletion plans and usage sums on hand-built graphs."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from labdock.errors import ConfigError
from labdock.imagegraph import RepositoryGraph, parse_created
from labdock.registry import Manifest
from labdock.retention import Protection, decide, deletions, rule_from_mapping
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


def test_decide_by_count_regex_age_and_protection() -> None:
    g = graph(
        "students/alice",
        [image(n) for n in "abcde"],
        {"v1": "a", "old": "b", "mid": "c", "new": "d", "fresh": "e"},
        {"a": 200, "b": 100, "c": 50, "d": 10, "e": 1},
    )
    rule = rule_from_mapping(
        {"repositories": "students/*", "keep_last": 2, "keep_tags": ["^v"], "older_than_days": 60},
        "test",
    )
    protection = Protection()
    protection.add([digest("b")], "expected catalog")
    kept = {d.tag: d.why for d in decide(g, [rule], protection, NOW) if d.keep}
    assert set(kept) == {"fresh", "new", "v1", "old", "mid"}
    assert kept["old"] == "protected: expected catalog"
    assert kept["mid"].startswith("50 days old")
    assert kept["v1"].startswith("matches keep_tags")
    protection = Protection()
    gone = [d.tag for d in decide(g, [rule], protection, NOW) if not d.keep]
    assert gone == ["old"]
    assert [d.tag for d in deletions(g, decide(g, [rule], protection, NOW), protection)] == ["old"]


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
