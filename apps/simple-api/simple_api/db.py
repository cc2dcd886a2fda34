"""The PostgreSQL side: a `visits` table, written and read one short connection at a time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import psycopg

SCHEMA = """
CREATE TABLE IF NOT EXISTS visits (
    id BIGSERIAL PRIMARY KEY,
    visited_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""


class DatabaseUnavailable(Exception):
    """The database could not be reached or refused the query."""


@dataclass(frozen=True)
class Visit:
    id: int
    visited_at: datetime


class Database(Protocol):
    def ensure_schema(self) -> None: ...
    def ping(self) -> None: ...
    def record_visit(self) -> int: ...
    def recent_visits(self, limit: int) -> tuple[int, list[Visit]]: ...


class PostgresDatabase:
    """A connection per call: the course's traffic is tiny, and nothing stale survives a
    database restart."""

    def __init__(self, url: str, connect_timeout: int = 3) -> None:
        self._url = url
        self._connect_timeout = connect_timeout

    @contextmanager
    def _cursor(self) -> Iterator[psycopg.Cursor[Any]]:
        """A cursor on a fresh autocommit connection; psycopg errors become DatabaseUnavailable."""
        try:
            with (
                psycopg.connect(
                    self._url, connect_timeout=self._connect_timeout, autocommit=True
                ) as conn,
                conn.cursor() as cursor,
            ):
                yield cursor
        except psycopg.Error as exc:
            raise DatabaseUnavailable(str(exc).strip()) from exc

    def ensure_schema(self) -> None:
        with self._cursor() as cursor:
            cursor.execute(SCHEMA)

    def ping(self) -> None:
        with self._cursor() as cursor:
            cursor.execute("SELECT 1")

    def record_visit(self) -> int:
        with self._cursor() as cursor:
            cursor.execute("INSERT INTO visits DEFAULT VALUES")
            # Autocommit: the count below already sees the row just inserted.
            return _count(cursor)

    def recent_visits(self, limit: int) -> tuple[int, list[Visit]]:
        with self._cursor() as cursor:
            total = _count(cursor)
            cursor.execute("SELECT id, visited_at FROM visits ORDER BY id DESC LIMIT %s", (limit,))
            return total, [Visit(int(row[0]), row[1]) for row in cursor.fetchall()]


def _count(cursor: psycopg.Cursor[Any]) -> int:
    row = cursor.execute("SELECT count(*) FROM visits").fetchone()
    return int(row[0]) if row else 0
