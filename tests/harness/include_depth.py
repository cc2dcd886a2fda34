"""How deep the playbooks nest, read from their YAML: for every task file reached from a
playbook, its include level and the chain that reaches it, and each role's task-file count.

Levels are counted as issue 16 counts them: every step is one level, `import_playbook`,
a role (`roles:`, a `dependencies:` entry of meta/main.yml, include_role/import_role), the
role's task file (tasks/main.yml or tasks_from), and each include_tasks/import_tasks. So
site.yml is level 0, playbooks/stacks.yml 1, the role stacks 2, its tasks/main.yml 3.

    python -m tests.harness.include_depth [site.yml] [--limit N]

prints each role's task files, the deepest chain and every file deeper than the limit;
exit code 1 when one is (the unit test tests/unit/test_include_depth.py asks the same).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
ROLES_DIR = REPO_ROOT / "roles"
DEFAULT_LIMIT = 4

_TASK_INCLUDES = {"include_tasks", "import_tasks"}
_ROLE_INCLUDES = {"include_role", "import_role"}
_TASK_LISTS = ("pre_tasks", "tasks", "post_tasks")
_BLOCK_PARTS = ("block", "rescue", "always")
# A Jinja expression in an included file's name ("files_{{ stacks_stack }}.yml") stands for
# every file it can name: all of them are reached.
_JINJA = re.compile(r"\{\{.*?\}\}")


@dataclass(frozen=True)
class Reached:
    """One task file (or playbook) and the chain of files from the root playbook to it."""

    path: Path
    chain: tuple[str, ...]

    @property
    def level(self) -> int:
        return len(self.chain) - 1


def _module(task: dict[str, Any], names: set[str]) -> tuple[str, Any] | None:
    for key, value in task.items():
        short = key.rsplit(".", 1)[-1]
        if short in names and (key == short or key.startswith("ansible.builtin.")):
            return short, value
    return None


def _label(path: Path) -> str:
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _load(path: Path) -> list[Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or []


def _files_named(folder: Path, name: str) -> list[Path]:
    if not name.endswith((".yml", ".yaml")):
        name += ".yml"
    pattern = _JINJA.sub("*", name)
    return sorted(folder.glob(pattern)) if "*" in pattern else [folder / name]


class Walker:
    """Follows every include from a root playbook; a file reached twice keeps each chain."""

    def __init__(self) -> None:
        self.reached: list[Reached] = []

    def playbook(self, path: Path, chain: tuple[str, ...] = ()) -> None:
        chain = (*chain, _label(path))
        self.reached.append(Reached(path, chain))
        for play in _load(path):
            module = _module(play, {"import_playbook"})
            if module:
                self.playbook((path.parent / module[1]).resolve(), chain)
                continue
            for role in play.get("roles", []):
                self.role(role["role"] if isinstance(role, dict) else role, "main", chain)
            for key in _TASK_LISTS:
                self.tasks(play.get(key) or [], path.parent, chain)

    def role(self, name: str, tasks_from: str, chain: tuple[str, ...]) -> None:
        role_dir = ROLES_DIR / name
        chain = (*chain, f"role {name}")
        meta = role_dir / "meta" / "main.yml"
        if meta.exists():
            for dependency in (yaml.safe_load(meta.read_text(encoding="utf-8")) or {}).get(
                "dependencies"
            ) or []:
                self.role(
                    dependency["role"] if isinstance(dependency, dict) else dependency,
                    "main",
                    chain,
                )
        for path in _files_named(role_dir / "tasks", tasks_from):
            self.task_file(path, chain)

    def task_file(self, path: Path, chain: tuple[str, ...]) -> None:
        chain = (*chain, _label(path))
        self.reached.append(Reached(path, chain))
        self.tasks(_load(path), path.parent, chain)

    def tasks(self, tasks: list[dict[str, Any]], folder: Path, chain: tuple[str, ...]) -> None:
        for task in _flatten(tasks):
            included = _module(task, _TASK_INCLUDES)
            if included:
                name = included[1]["file"] if isinstance(included[1], dict) else included[1]
                for path in _files_named(folder, name):
                    self.task_file(path, chain)
                continue
            role = _module(task, _ROLE_INCLUDES)
            if role:
                self.role(role[1]["name"], role[1].get("tasks_from", "main"), chain)


def _flatten(tasks: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for task in tasks:
        parts = [part for part in _BLOCK_PARTS if part in task]
        if not parts:
            yield task
        for part in parts:
            yield from _flatten(task[part] or [])


def walk(root: Path) -> list[Reached]:
    """Every playbook and task file reached from root, once per chain that reaches it."""
    walker = Walker()
    walker.playbook(root.resolve())
    return walker.reached


def deepest(reached: list[Reached]) -> Reached:
    return max(reached, key=lambda item: item.level)


def too_deep(reached: list[Reached], limit: int) -> dict[str, Reached]:
    """Each file reached deeper than limit, with its deepest chain."""
    found: dict[str, Reached] = {}
    for item in reached:
        label = _label(item.path)
        if item.level > limit and (label not in found or item.level > found[label].level):
            found[label] = item
    return found


def task_file_counts() -> dict[str, int]:
    """Each role's number of task files (tasks/*.yml)."""
    return {
        role.name: len(list((role / "tasks").glob("*.yml")))
        for role in sorted(ROLES_DIR.iterdir())
        if (role / "tasks").is_dir()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("playbook", nargs="?", default=str(REPO_ROOT / "site.yml"))
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT)
    args = parser.parse_args(argv)
    reached = walk(Path(args.playbook))
    counts = task_file_counts()
    print(f"task files per role ({sum(counts.values())} in all):")
    for role, count in counts.items():
        print(f"  {role:24} {count}")
    worst = deepest(reached)
    print(f"deepest include chain: level {worst.level}")
    print("  " + "\n  -> ".join(worst.chain))
    over = too_deep(reached, args.limit)
    for label, item in sorted(over.items()):
        print(f"deeper than {args.limit}: {label} (level {item.level})")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
