"""Retention rules and the prune plan: which tags go, which stay, and why.

A rule selects repositories by glob. In a selected repository a tag is deleted only when
every condition of the rule agrees: it is not among the newest `keep_last` (by the image's
creation time, from its config blob), it matches none of `keep_tags`, and it is older than
`older_than_days`. A rule needs `keep_last` or `older_than_days`: a rule with neither would
delete every tag its regexes miss. The first rule that selects a repository applies to it;
repositories no rule selects are left alone.

Whatever the rules say, a tag whose digest is protected stays: the expected catalog (what
the images role pushed), the images the lab's containers run, and any digests given.
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
    repository: str
    tag: str
    digest: str
    keep: bool
    why: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


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


def load_digest_file(path: Path) -> list[str]:
    """Digests to protect: a JSON list, or one per line (`repo@sha256:...` is fine too)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read digest file {path}: {exc.strerror}") from None
    try:
        items = json.loads(text)
    except json.JSONDecodeError:
        items = text.split()
    if not isinstance(items, list):
        raise ConfigError(f"digest file {path} must hold a list of digests")
    digests = [str(item).rsplit("@", 1)[-1] for item in items]
    bad = [d for d in digests if not d.startswith("sha256:")]
    if bad:
        raise ConfigError(f"digest file {path}: {bad[0]!r} is not a sha256: digest")
    return digests


def decide(
    graph: RepositoryGraph, rules: Sequence[Rule], protection: Protection, now: dt.datetime
) -> list[Decision]:
    """A keep/delete decision, with its reason, for every tag of the repository."""
    rule = next((r for r in rules if r.selects(graph.name)), None)
    if rule is None:
        return [
            Decision(graph.name, tag, digest, True, "no rule selects the repository")
            for tag, digest in sorted(graph.tags.items())
        ]
    newest_first = sorted(
        graph.tags, key=lambda tag: (graph.created_at(graph.tags[tag]), tag), reverse=True
    )
    rank = {tag: position for position, tag in enumerate(newest_first)}
    decisions = []
    for tag in newest_first:
        digest = graph.tags[tag]
        age_days = (now - graph.created_at(digest)).total_seconds() / 86400
        keep_why = _keep_reason(rule, tag, rank[tag], age_days, digest, protection)
        if keep_why is not None:
            decisions.append(Decision(graph.name, tag, digest, True, keep_why))
            continue
        why = [rule.describe()]
        if rule.keep_last is not None:
            why.append(f"number {rank[tag] + 1} by age")
        why.append(_age(graph.created_at(digest), age_days))
        decisions.append(Decision(graph.name, tag, digest, False, "; ".join(why)))
    return sorted(decisions, key=lambda d: d.tag)


def deletions(
    graph: RepositoryGraph, decisions: Sequence[Decision], protection: Protection
) -> list[Deletion]:
    """The requests that carry out a repository's decisions without touching a kept tag or
    a protected platform manifest."""
    doomed = {d.tag: d.why for d in decisions if not d.keep}
    return plan(graph, doomed, protection.reasons) if doomed else []


def _keep_reason(
    rule: Rule, tag: str, rank: int, age_days: float, digest: str, protection: Protection
) -> str | None:
    if digest in protection:
        return f"protected: {protection.reasons[digest]}"
    pattern = next((p for p in rule.keep_tags if p.search(tag)), None)
    if pattern is not None:
        return f"matches keep_tags {pattern.pattern!r}"
    if rule.keep_last is not None and rank < rule.keep_last:
        return f"among the newest {rule.keep_last}"
    if rule.older_than_days is not None and age_days <= rule.older_than_days:
        return f"{age_days:.0f} days old, not older than {rule.older_than_days:g}"
    return None


def _age(created: dt.datetime, age_days: float) -> str:
    return "no creation time" if created == EPOCH else f"{age_days:.0f} days old"


def _known() -> str:
    return ", ".join(sorted(_RULE_KEYS))
