"""FastAPI application: /health (checks the database), a visit counter and its history."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from .db import Database, DatabaseUnavailable, PostgresDatabase

log = logging.getLogger(__name__)

# The course's connection string (compose service `db`, user/password/database `demo`).
DEFAULT_DATABASE_URL = "postgresql://demo:demo@db:5432/demo"
RECENT_LIMIT = 10


class Schema:
    """Creates the table once, at startup or on the first request after the database comes up."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._ready = False
        self._lock = threading.Lock()

    def ensure(self) -> None:
        with self._lock:
            if not self._ready:
                self._db.ensure_schema()
                self._ready = True


def unavailable(exc: DatabaseUnavailable) -> JSONResponse:
    log.warning("database unavailable: %s", exc)
    return JSONResponse({"status": "error", "database": "unavailable", "detail": str(exc)}, 503)


def create_app(db: Database | None = None) -> FastAPI:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    db = db or PostgresDatabase(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    schema = Schema(db)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # A database that is not up yet must not stop the API: /health reports it meanwhile.
        try:
            schema.ensure()
        except DatabaseUnavailable as exc:
            log.warning("schema not created yet, will retry on the next request: %s", exc)
        yield

    app = FastAPI(title="simple-api", lifespan=lifespan)

    # Plain `def` endpoints: psycopg calls block, so FastAPI runs them in its thread pool.
    @app.get("/health", response_model=None)
    def health() -> dict[str, str] | JSONResponse:
        try:
            db.ping()
        except DatabaseUnavailable as exc:
            return unavailable(exc)
        # Exactly this body when healthy: the course's checks compare it literally.
        return {"status": "ok"}

    @app.get("/", response_model=None)
    def index() -> dict[str, Any] | JSONResponse:
        try:
            schema.ensure()
            visits = db.record_visit()
        except DatabaseUnavailable as exc:
            return unavailable(exc)
        return {"service": "simple-api", "visits": visits}

    @app.get("/visits", response_model=None)
    def visits() -> dict[str, Any] | JSONResponse:
        try:
            schema.ensure()
            total, recent = db.recent_visits(RECENT_LIMIT)
        except DatabaseUnavailable as exc:
            return unavailable(exc)
        return {
            "count": total,
            "recent": [{"id": v.id, "visited_at": v.visited_at.isoformat()} for v in recent],
        }

    return app
