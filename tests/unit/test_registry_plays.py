"""The registry's two roles (issue 16): `registry` (entry points `credentials` and `main`) and
`registry_accounts` between them. Read from the YAML: the plays that run them agree on the
order, each role declares every default it has, and the one fact the accounts hand to the
registry is the one the registry's argument spec takes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness.playbooks import REPO_ROOT

ROLES = REPO_ROOT / "roles"
# The plays that deploy a registry: the lab's and the tests' throwaway one.
PLAYS = (
    REPO_ROOT / "playbooks" / "registry.yml",
    REPO_ROOT / "tests" / "harness" / "throwaway_registry.yml",
)


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _registry_steps(play_file: Path) -> list[tuple[str, str]]:
    """(role, entry point) of each role the first play imports, in order."""
    play = _load(play_file)[0]
    steps = []
    for task in play.get("tasks", []):
        imported = task.get("ansible.builtin.import_role")
        if imported:
            steps.append((imported["name"], imported.get("tasks_from", "main")))
    return steps


def _specs(role: str) -> dict[str, dict[str, Any]]:
    return _load(ROLES / role / "meta" / "argument_specs.yml")["argument_specs"]


def _defaults(role: str) -> dict[str, Any]:
    return _load(ROLES / role / "defaults" / "main.yml")


def test_both_plays_run_credentials_then_accounts_then_the_registry() -> None:
    expected = [("registry", "credentials"), ("registry_accounts", "main"), ("registry", "main")]
    for play in PLAYS:
        assert _registry_steps(play) == expected, play


@pytest.mark.parametrize("role", ["registry", "registry_accounts"])
def test_every_default_is_declared_in_each_entry_point(role: str) -> None:
    defaults = set(_defaults(role))
    assert defaults
    for entry_point, spec in _specs(role).items():
        assert defaults - set(spec["options"]) == set(), f"{role} {entry_point}"


def test_the_accounts_role_keeps_the_names_users_set() -> None:
    # Split out of role registry: its variables keep the registry_ prefix, none is defined twice.
    accounts = set(_defaults("registry_accounts"))
    assert all(name.startswith("registry_") for name in accounts)
    assert accounts & set(_defaults("registry")) == set()


def test_the_registry_takes_exactly_what_the_accounts_hand_over() -> None:
    task = _load(ROLES / "registry_accounts" / "tasks" / "handoff.yml")[0]
    handed = task["ansible.builtin.set_fact"]["registry_accounts_handoff"]
    taken = _specs("registry")["main"]["options"]["registry_accounts_handoff"]["options"]
    assert set(handed) == set(taken)
    assert set(handed["token"]) == set(taken["token"]["options"])
