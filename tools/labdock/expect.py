"""Compare the registry's catalog with a file of expected repository:tag[@digest] entries."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from labdock.catalog import Repository
from labdock.checks import CheckResult
from labdock.errors import ConfigError


@dataclass(frozen=True)
class Expectation:
    repository: str
    tag: str
    digest: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.tag}"


def load(path: Path) -> list[Expectation]:
    """Read a JSON (`.json`) or YAML list of {repository, tag, digest?}."""
    data = read_list(path, "expectations file", "entries")
    return [_entry(path, index, item) for index, item in enumerate(data)]


def read_list(path: Path, kind: str, items: str) -> list[object]:
    """A JSON or YAML file holding a list (`kind` names the file in errors)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {kind} {path}: {exc.strerror}") from None
    data = _parse(path, text, kind)
    if not isinstance(data, list):
        raise ConfigError(f"{kind} {path} must hold a list of {items}")
    return data


def _parse(path: Path, text: str, kind: str) -> object:
    """A .json file is parsed as JSON, anything else as YAML; a syntax error is one line
    with its position (the parsers' own messages span several lines)."""
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{kind} {path} is not valid JSON: {exc.msg} "
                f"at line {exc.lineno}, column {exc.colno}"
            ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError(f"{kind} {path} is not valid YAML: {problem}{where}") from None


def _entry(path: Path, index: int, item: object) -> Expectation:
    where = f"expectations file {path}, entry {index}"
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: must be a mapping, got {json.dumps(item)}")
    unknown = sorted(set(item) - {"repository", "tag", "digest"})
    if unknown:
        raise ConfigError(f"{where}: unknown keys {', '.join(unknown)}")
    repository, tag, digest = item.get("repository"), item.get("tag"), item.get("digest")
    if not isinstance(repository, str) or not repository:
        raise ConfigError(f"{where}: 'repository' must be a non-empty string")
    if not isinstance(tag, str) or not tag:
        # YAML reads `tag: 1.10` as the number 1.1: refuse rather than guess what was meant.
        raise ConfigError(f"{where}: 'tag' must be a non-empty string (quote tags like \"1.0\")")
    if digest is not None and not (isinstance(digest, str) and digest.startswith("sha256:")):
        raise ConfigError(f"{where}: 'digest' must look like sha256:<hex>")
    return Expectation(repository, tag, digest)


def compare(expected: Sequence[Expectation], catalog: Sequence[Repository]) -> list[CheckResult]:
    """One check per expected entry: present, and with the expected digest when one is given."""
    found = {(repo.name, t.tag): t.digest for repo in catalog for t in repo.tags}
    results = []
    for item in expected:
        actual = found.get((item.repository, item.tag))
        if actual is None:
            results.append(CheckResult(item.ref, False, "missing"))
        elif item.digest is not None and actual != item.digest:
            detail = f"digest differs: registry has {actual}, expected {item.digest}"
            results.append(CheckResult(item.ref, False, detail))
        else:
            results.append(CheckResult(item.ref, True, f"present ({actual})"))
    return results
