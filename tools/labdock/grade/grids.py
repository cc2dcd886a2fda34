"""Course grids as data: one YAML file per grid, criteria with points and the check that
scores each. A teacher copies a file and changes points or wording without touching Python."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from labdock.errors import UsageError

BUNDLED_DIR = Path(__file__).with_name("grids")


@dataclass(frozen=True)
class Criterion:
    id: str
    points: int
    description: str
    check: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Grid:
    name: str
    title: str
    criteria: tuple[Criterion, ...]
    path: Path

    @property
    def total(self) -> int:
        return sum(c.points for c in self.criteria)


def bundled_grids() -> list[Path]:
    return sorted(BUNDLED_DIR.glob("*.yml"))


def resolve(name_or_path: str) -> Path:
    """A path to a grid file, or a bundled grid by its prefix (`001`, `001-socket-chat`)."""
    path = Path(name_or_path)
    if path.suffix in (".yml", ".yaml") or path.exists():
        if not path.is_file():
            raise UsageError(f"grid file {path} does not exist")
        return path
    matches = [
        p
        for p in bundled_grids()
        if p.stem == name_or_path or p.stem.startswith(f"{name_or_path}-")
    ]
    if len(matches) != 1:
        known = ", ".join(p.stem for p in bundled_grids())
        raise UsageError(f"no grid named {name_or_path!r}; give a grid file or one of: {known}")
    return matches[0]


def load(name_or_path: str, known_checks: Collection[str]) -> Grid:
    """Read and validate a grid; every mistake is one line naming the file and criterion."""
    path = resolve(name_or_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UsageError(f"grid {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("criteria"), list):
        raise UsageError(f"grid {path} needs a `criteria:` list")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise UsageError(f"grid {path}: `defaults` must be a mapping of check parameters")
    criteria = tuple(
        _criterion(path, index, raw, defaults, known_checks)
        for index, raw in enumerate(data["criteria"], start=1)
    )
    ids = [c.id for c in criteria]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise UsageError(f"grid {path}: criterion ids used twice: {', '.join(duplicates)}")
    grid = Grid(
        name=str(data.get("grid") or path.stem),
        title=str(data.get("title") or path.stem),
        criteria=criteria,
        path=path,
    )
    declared = data.get("total")
    if declared is not None and declared != grid.total:
        raise UsageError(
            f"grid {path}: `total: {declared}` but the criteria add up to {grid.total}; "
            "fix the points or the total"
        )
    return grid


def _criterion(
    path: Path, index: int, raw: Any, defaults: Mapping[str, Any], known_checks: Collection[str]
) -> Criterion:
    where = f"grid {path}, criterion {index}"
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: expected a mapping with id, points, description, check")
    missing = [k for k in ("id", "points", "description", "check") if k not in raw]
    if missing:
        raise UsageError(f"{where}: missing {', '.join(missing)}")
    where = f"grid {path}, criterion {raw['id']}"
    points = raw["points"]
    if not isinstance(points, int) or isinstance(points, bool) or points < 0:
        raise UsageError(f"{where}: points must be a whole number >= 0, not {points!r}")
    if raw["check"] not in known_checks:
        raise UsageError(
            f"{where}: unknown check {raw['check']!r}; known: {', '.join(sorted(known_checks))}"
        )
    params = raw.get("with") or {}
    if not isinstance(params, dict):
        raise UsageError(f"{where}: `with` must be a mapping of check parameters")
    unknown = sorted(set(raw) - {"id", "points", "description", "check", "with"})
    if unknown:
        raise UsageError(f"{where}: unknown keys {', '.join(unknown)}")
    return Criterion(
        id=str(raw["id"]),
        points=points,
        description=str(raw["description"]),
        check=str(raw["check"]),
        params={**defaults, **params},
    )
