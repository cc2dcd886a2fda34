"""A student's compose stack with a service that did not build: what a teacher would still
start (`docker compose up db` after the api's build failed), and nothing that needs it."""

from __future__ import annotations

from labdock.grade.stack import _startable


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
