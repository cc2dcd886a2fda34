"""Retention rules and the prune plan: which images go, which stay, and why.

A rule selects repositories by glob. It decides per image (a manifest or an index that tags
name), never per tag: an image is kept with every tag on it, or goes with every tag on it.
In a selected repository an image is kept when any of these holds:
- it is among the newest `keep_last` images (by creation time, from its config blob; an
  index counts once, as old as its newest platform image), however many tags each has;
- one of its tags matches a `keep_tags` regex (on top of the newest `keep_last`);
- it is not older than `older_than_days`.
A rule needs `keep_last` or `older_than_days`: a rule with neither would delete every image
its regexes miss. The first rule that selects a repository applies to it; repositories no
rule selects are left alone.

Whatever the rules say, an image whose digest is protected stays: the expected catalog (what
the images role pushed), the images the lab's containers use, the rollback targets the lab
hosts record (their stacks' `.env` and `.env.previous`), and any digests given.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from labdock.errors import ConfigError
from labdock.expect import read_list
from labdock.imagegraph import EPOCH, RepositoryGraph
from labdock.tagdelete import Deletion, plan

_RULE_KEYS = {"repositories", "keep_last", "keep_tags", "older_than_days"}


@dataclass(frozen=True)
class Rule:
    repositories: str
    keep_last: int | None = None
    keep_tags: tuple[re.Pattern[str], ...] = ()
    older_than_days: float | None = None

    def selects(self, repository: str) -> bool:
        return fnmatch.fnmatchcase(repository, self.repositories)

    def describe(self) -> str:
        parts = [f"rule {self.repositories}"]
        if self.keep_last is not None:
            parts.append(f"keep last {self.keep_last}")
        if self.older_than_days is not None:
            parts.append(f"older than {self.older_than_days:g} days")
        return ", ".join(parts)


@dataclass
class Protection:
    """Digests that must never be deleted, each with the reason shown in plans."""

    reasons: dict[str, str] = field(default_factory=dict)
    # One line per source consulted, for the report: what was protected, and from where.
    sources: list[str] = field(default_factory=list)

    def add(self, digests: Iterable[str], reason: str) -> None:
        for digest in digests:
            self.reasons.setdefault(digest, reason)

    def __contains__(self, digest: str) -> bool:
        return digest in self.reasons


@dataclass(frozen=True)
class Decision:
    """One image of a repository (a manifest or an index, with every tag on it): kept or not,
    and why."""

    repository: str
    digest: str
    tags: tuple[str, ...]
    created: dt.datetime
    keep: bool
    why: str

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tags"] = list(self.tags)
        data["created"] = None if self.created == EPOCH else self.created.isoformat()
        return data


def rule_from_mapping(data: Mapping[str, Any], where: str) -> Rule:
    """One rule from a policy entry; bad values name the entry and the key."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: must be a mapping with 'repositories' and conditions")
    unknown = sorted(set(data) - _RULE_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown keys {', '.join(unknown)} (known: {_known()})")
    glob = data.get("repositories")
    if not isinstance(glob, str) or not glob:
        raise ConfigError(f"{where}: 'repositories' must be a glob such as 'students/*'")
    keep_last = data.get("keep_last")
    if keep_last is not None and (not isinstance(keep_last, int) or keep_last < 0):
        raise ConfigError(f"{where}: 'keep_last' must be a whole number >= 0, got {keep_last!r}")
    days = data.get("older_than_days")
    if days is not None and (not isinstance(days, int | float) or days < 0):
        raise ConfigError(f"{where}: 'older_than_days' must be a number >= 0, got {days!r}")
    if keep_last is None and days is None:
        raise ConfigError(
            f"{where}: give 'keep_last' or 'older_than_days' (or both); without either the "
            "rule would delete every tag its keep_tags miss"
        )
    keep_tags = data.get("keep_tags") or []
    if isinstance(keep_tags, str):
        keep_tags = [keep_tags]
    patterns = []
    for text in keep_tags:
        try:
            patterns.append(re.compile(str(text)))
        except re.error as exc:
            raise ConfigError(f"{where}: keep_tags regex {text!r} is invalid: {exc}") from None
    return Rule(glob, keep_last, tuple(patterns), None if days is None else float(days))


def load_policy(path: Path) -> list[Rule]:
    """A JSON or YAML list of rules (what the maintenance play writes from
    registry_retention_rules)."""
    data = read_list(path, "policy file", "rules")
    return [rule_from_mapping(item, f"policy file {path}, rule {i}") for i, item in enumerate(data)]


def load_digest_file(path: Path) -> dict[str, str]:
    """Digests to protect, each with where it was found: a JSON object (digest -> where, a
    string or a list of strings: what the maintenance play writes), a JSON list, or one per
    line (`repo@sha256:...` is fine too)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read digest file {path}: {exc.strerror}") from None
    try:
        items = json.loads(text)
    except json.JSONDecodeError:
        items = text.split()
    if isinstance(items, dict):
        found = {str(key): _where(value, path) for key, value in items.items()}
    elif isinstance(items, list):
        found = {str(item): f"listed in {path}" for item in items}
    else:
        raise ConfigError(f"digest file {path} must hold a list of digests or a mapping")
    digests = {ref.rsplit("@", 1)[-1]: where for ref, where in found.items()}
    bad = [d for d in digests if not d.startswith("sha256:")]
    if bad:
        raise ConfigError(f"digest file {path}: {bad[0]!r} is not a sha256: digest")
    return digests


def decide(
    graph: RepositoryGraph, rules: Sequence[Rule], protection: Protection, now: dt.datetime
) -> list[Decision]:
    """A keep/delete decision, with its reasons, for every image the repository's tags name,
    newest first."""
    rule = next((r for r in rules if r.selects(graph.name)), None)
    # Distinct images, newest first; the digest breaks ties so a plan is the same each run.
    newest_first = sorted(
        set(graph.tags.values()), key=lambda d: (graph.created_at(d), d), reverse=True
    )
    decisions = []
    for rank, digest in enumerate(newest_first, start=1):
        tags = tuple(graph.tags_on(digest))
        created = graph.created_at(digest)
        why = [f"protected: {protection.reasons[digest]}"] if digest in protection else []
        if rule is None:
            why.append("no rule selects the repository")
        else:
            why += _keep_reasons(rule, tags, rank, (now - created).total_seconds() / 86400)
        keep = bool(why)
        if rule is not None and not keep:
            why = [rule.describe()]
            if rule.keep_last is not None:
                why.append(f"number {rank} by age")
            why.append(_age(created, now))
        decisions.append(Decision(graph.name, digest, tags, created, keep, "; ".join(why)))
    return decisions


def deletions(
    graph: RepositoryGraph, decisions: Sequence[Decision], protection: Protection
) -> list[Deletion]:
    """The requests that carry out a repository's decisions: every tag of each image that
    goes, without touching a kept image, a platform manifest a kept index lists, or a
    protected digest."""
    doomed = {tag: d.why for d in decisions if not d.keep for tag in d.tags}
    return plan(graph, doomed, protection.reasons) if doomed else []


def _keep_reasons(rule: Rule, tags: Sequence[str], rank: int, age_days: float) -> list[str]:
    """Every reason the rule keeps an image (empty: the rule deletes it)."""
    why = []
    if rule.keep_last is not None and rank <= rule.keep_last:
        why.append(f"number {rank} of the newest {rule.keep_last}")
    for tag in tags:
        pattern = next((p for p in rule.keep_tags if p.search(tag)), None)
        if pattern is not None:
            why.append(f"tag {tag} matches keep_tags {pattern.pattern!r}")
    if rule.older_than_days is not None and age_days <= rule.older_than_days:
        why.append(f"{age_days:.0f} days old, not older than {rule.older_than_days:g}")
    return why


def _where(value: Any, path: Path) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or f"listed in {path}"
    return str(value) or f"listed in {path}"


def _age(created: dt.datetime, now: dt.datetime) -> str:
    if created == EPOCH:
        return "no creation time"
    return f"{(now - created).total_seconds() / 86400:.0f} days old"


def _known() -> str:
    return ", ".join(sorted(_RULE_KEYS))
