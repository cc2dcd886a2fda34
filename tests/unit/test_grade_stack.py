"""A student's compose stack (grids 003, 004) without an engine: what a teacher would still
start after a build failed, which volume holds the database, whose credentials are used."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from labdock.grade.checks.simple_api import named_volume
from labdock.grade.checks.stacks import compose_starts
from labdock.grade.checks.student_list import _credentials
from labdock.grade.context import Context, Lost, Submission
from labdock.grade.stack import StackRun, _find_service, _startable


def test_services_needing_an_unbuilt_one_are_not_started() -> None:
    model = {
        "services": {
            "db": {},
            "api": {"build": {"context": "/s/api"}, "depends_on": {"db": {}}},
            "proxy": {"depends_on": {"api": {}}},
            "docs": {},
        }
    }
    assert _startable(model, {"api": "build of api/ failed"}) == ["db", "docs"]


def test_everything_starts_when_everything_built() -> None:
    model = {"services": {"db": {}, "api": {"depends_on": {"db": {}}}}}
    assert _startable(model, {}) == ["db", "api"]


def _started(tmp_path: Path, services: dict[str, Any], roles: dict[str, str]) -> Context:
    """A context whose stack run is already known (as if started): no engine needed."""
    ctx = Context(Submission("alice", tmp_path, "alice"), sandbox=None, registry=None)  # type: ignore[arg-type]
    run = StackRun(compose_file="compose.yaml", model={"services": services}, roles=roles)
    ctx.once("stack", lambda: run)
    return ctx


@pytest.mark.parametrize(
    ("volumes", "passed"),
    [
        ([{"type": "volume", "source": "db_data", "target": "/var/lib/postgresql/data"}], True),
        ([{"type": "volume", "source": "pg", "target": "/var/lib/postgresql/"}], True),
        # An anonymous volume (no source) and a bind mount are not named volumes.
        ([{"type": "volume", "target": "/var/lib/postgresql/data"}], False),
        ([{"type": "bind", "source": "/s/data", "target": "/var/lib/postgresql/data"}], False),
        ([{"type": "volume", "source": "logs", "target": "/var/log"}], False),
        ([], False),
    ],
)
def test_named_volume_must_hold_the_database_folder(
    tmp_path: Path, volumes: list[dict[str, str]], passed: bool
) -> None:
    ctx = _started(tmp_path, {"postgres": {"volumes": volumes}}, {"db": "postgres"})
    params = {"role": "db", "path": "/var/lib/postgresql/data"}
    if passed:
        assert named_volume(ctx, params).startswith("postgres: volume ")
    else:
        with pytest.raises(Lost, match=r"is not in a named volume"):
            named_volume(ctx, params)


def test_credentials_are_the_websites_else_the_apis(tmp_path: Path) -> None:
    keys = {"roles": ["website", "api"], "keys": ["USERNAME", "PASSWORD"]}
    both = {
        "web": {"environment": {"USERNAME": "toto", "PASSWORD": "python"}},
        "api": {"environment": {"USERNAME": "admin", "PASSWORD": "s3cret"}},
    }
    roles = {"website": "web", "api": "api"}
    run = StackRun("compose.yaml", model={"services": both}, roles=roles)
    assert _credentials(run, {"credentials": keys}) == ("toto", "python")
    both["web"]["environment"] = {"USERNAME": "toto"}
    assert _credentials(run, {"credentials": keys}) == ("admin", "s3cret")
    both["api"]["environment"] = {}
    assert _credentials(run, {"credentials": keys}) is None


@pytest.mark.parametrize(
    ("services", "found"),
    [
        ({"db": {"image": "mysql"}, "pg": {"image": "postgres:16"}}, "db"),
        ({"pg": {"image": "lab:5000/course/postgres:15@sha256:ab"}, "api": {}}, "pg"),
        ({"pg": {"image": "postgres"}, "replica": {"image": "postgres"}}, None),
        ({"cache": {"image": "redis"}}, None),
    ],
)
def test_the_database_is_found_by_name_else_by_its_image(
    tmp_path: Path, services: dict[str, Any], found: str | None
) -> None:
    ctx = Context(Submission("alice", tmp_path, "alice"), sandbox=None, registry=None)  # type: ignore[arg-type]
    spec = {"names": ["db", "postgres"], "images": ["postgres"]}
    assert _find_service(ctx, {"services": services}, spec) == found


def test_compose_starts_shows_what_containment_changed(tmp_path: Path) -> None:
    ctx = _started(tmp_path, {"api": {}, "db": {}}, {"api": "api", "db": "db"})
    ctx.once("stack", lambda: None).contained = ["api: network_mode bridge removed"]
    params = {"starts": [], "depends": {"api": "db"}}
    with pytest.raises(Lost) as lost:
        compose_starts(ctx, params)
    assert (
        str(lost.value) == "api does not depend on db (contained: api: network_mode bridge removed)"
    )
