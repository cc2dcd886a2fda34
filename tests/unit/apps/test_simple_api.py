"""simple-api: /health's exact body, the visit counter, and a database that is down."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from simple_api.app import create_app
from simple_api.db import DatabaseUnavailable, PostgresDatabase, Visit


class FakeDatabase:
    """In-memory stand-in for PostgresDatabase; `up` switches the outage on and off."""

    def __init__(self, up: bool = True) -> None:
        self.up = up
        self.schema_calls = 0
        self.visits: list[Visit] = []

    def _check(self) -> None:
        if not self.up:
            raise DatabaseUnavailable("connection refused")

    def ensure_schema(self) -> None:
        self._check()
        self.schema_calls += 1

    def ping(self) -> None:
        self._check()

    def record_visit(self) -> int:
        self._check()
        self.visits.append(Visit(len(self.visits) + 1, datetime(2026, 1, 1, tzinfo=UTC)))
        return len(self.visits)

    def recent_visits(self, limit: int) -> tuple[int, list[Visit]]:
        self._check()
        return len(self.visits), self.visits[::-1][:limit]


def test_health_body_is_exactly_status_ok() -> None:
    with TestClient(create_app(FakeDatabase())) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_is_503_when_the_database_is_down() -> None:
    with TestClient(create_app(FakeDatabase(up=False))) as client:
        response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "error"
    assert "connection refused" in response.json()["detail"]


def test_visits_are_recorded_and_listed() -> None:
    db = FakeDatabase()
    with TestClient(create_app(db)) as client:
        assert client.get("/").json() == {"service": "simple-api", "visits": 1}
        assert client.get("/").json()["visits"] == 2
        listed = client.get("/visits").json()
    assert listed["count"] == 2
    assert [visit["id"] for visit in listed["recent"]] == [2, 1]
    assert db.schema_calls == 1, "schema is created once, at startup"


def test_api_starts_with_the_database_down_and_recovers() -> None:
    db = FakeDatabase(up=False)
    with TestClient(create_app(db)) as client:
        assert client.get("/").status_code == 503
        db.up = True
        assert client.get("/").json()["visits"] == 1
        assert client.get("/health").json() == {"status": "ok"}
    assert db.schema_calls == 1


def test_unreachable_postgres_is_reported_as_unavailable(closed_port: int) -> None:
    db = PostgresDatabase(f"postgresql://demo@127.0.0.1:{closed_port}/demo", connect_timeout=2)
    with pytest.raises(DatabaseUnavailable, match=r"127\.0\.0\.1"):
        db.ping()
