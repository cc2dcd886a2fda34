"""Each lab fact is written once: in inventory/group_vars/all.yml, read from there by roles,
plays, CLI, tests and benches. This test reads each fact's value from group_vars and greps
the product tree for it written out anywhere else, naming the file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness.playbooks import REPO_ROOT, group_vars

# The product: what runs (documentation tables that show a default to a reader are not).
PRODUCT = ("roles", "playbooks", "tools", "compose", "bench", "site.yml")
SUFFIXES = {".yml", ".yaml", ".py", ".j2", ".sh", ".json", ".cfg"}


@dataclass(frozen=True)
class Fact:
    name: str
    pattern: re.Pattern[str]
    # Files besides group_vars where the value is a different fact that happens to be equal.
    elsewhere: tuple[str, ...] = ()


def _quoted(value: str) -> re.Pattern[str]:
    """value as a whole YAML or Python string (or a bare YAML scalar after a colon)."""
    v = re.escape(value)
    return re.compile(rf"""["']{v}["']|:\s+{v}\s*$""", re.MULTILINE)


def facts() -> list[Fact]:
    lab = group_vars()
    registry = f"{lab['labdock_registry_host']}:{lab['labdock_registry_port']}"
    prefix = re.escape(lab["labdock_project_prefix"])
    found = [
        Fact("labdock_state_dir", re.compile(re.escape(lab["labdock_state_dir"]))),
        Fact("labdock_deploy_root", re.compile(re.escape(lab["labdock_deploy_root"]))),
        Fact("labdock_registry_address", re.compile(rf"\b{re.escape(registry)}\b")),
        # The prefix as a whole string, or a project name built from it by hand.
        Fact(
            "labdock_project_prefix",
            re.compile(rf"""["']{prefix}["']|:\s+{prefix}\s*$|{prefix}\{{\{{""", re.MULTILINE),
        ),
        Fact("labdock_images_version", _quoted(lab["labdock_images_version"])),
        Fact(
            "labdock_postgres_tag",
            # Set as a value (a tag in an example reference of a docstring is not).
            re.compile(
                rf"""postgres\S*[:=]\s*["']?{re.escape(lab["labdock_postgres_tag"])}["']?\s*$""",
                re.MULTILINE,
            ),
        ),
        Fact("labdock_host_config_path", re.compile(re.escape(lab["labdock_host_config_path"]))),
        Fact("labdock_nginx_tag", re.compile(rf"\b{re.escape(lab['labdock_nginx_tag'])}\b")),
    ]
    for name, port in lab["labdock_stack_ports"].items():
        # The proxy listens inside its container on the course's port, which the compose file
        # maps (and the stacks role's route table mirrors): a container port, not this one.
        found.append(
            Fact(
                f"labdock_stack_ports.{name}",
                re.compile(rf"\b{port}\b"),
                elsewhere=("compose/", "roles/stacks/vars/main.yml"),
            )
        )
    return found


def product_files() -> list[Path]:
    files: list[Path] = []
    for top in PRODUCT:
        path = REPO_ROOT / top
        found = [path] if path.is_file() else path.rglob("*")
        files += [f for f in found if f.is_file() and f.suffix in SUFFIXES]
    return sorted(files)


def copies(fact: Fact) -> set[str]:
    where: set[str] = set()
    for path in product_files():
        label = str(path.relative_to(REPO_ROOT))
        if label.startswith(fact.elsewhere or ("\0",)):
            continue
        if fact.pattern.search(path.read_text(encoding="utf-8", errors="replace")):
            where.add(label)
    return where


@pytest.mark.parametrize("fact", facts(), ids=lambda fact: fact.name)
def test_each_lab_fact_is_written_only_in_group_vars(fact: Fact) -> None:
    found = copies(fact)
    assert found == set(), f"{fact.name} written out in {sorted(found)}"


def test_the_patterns_find_the_facts_in_group_vars() -> None:
    # A pattern that cannot match would pass every file: each must find its own home.
    home = (REPO_ROOT / "inventory" / "group_vars" / "all.yml").read_text(encoding="utf-8")
    for fact in facts():
        if fact.name == "labdock_registry_address":  # composed there from host and port
            continue
        assert fact.pattern.search(home), fact.name
