"""Flask application: relays the backend's greeting, plus the health check and crash route."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any, NoReturn

from flask import Flask

from .backend_client import BackendError, fetch_json
from .crash import crash_on_unhandled_error

log = logging.getLogger(__name__)

DEFAULT_BACKEND_URL = "http://backend:5000/"


def create_app(
    backend_url: str | None = None,
    timeout: float | None = None,
    exit_process: Callable[[int], NoReturn] = os._exit,
) -> Flask:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    backend_url = backend_url or os.environ.get("BACKEND_URL") or DEFAULT_BACKEND_URL
    timeout = timeout or float(os.environ.get("BACKEND_TIMEOUT", "3"))
    log.info("backend is %s (timeout %ss)", backend_url, timeout)
    app = Flask(__name__)
    crash_on_unhandled_error(app, exit_process)

    @app.get("/")
    def index() -> tuple[dict[str, Any], int]:
        try:
            backend = fetch_json(backend_url, timeout)
        except BackendError as exc:
            log.warning("GET %s failed: %s", backend_url, exc)
            return {"service": "frontend", "error": str(exc), "backend_url": backend_url}, 502
        return {
            "service": "frontend",
            "message": "Hello from the frontend",
            "backend": backend,
        }, 200

    @app.get("/healthcheck")
    def healthcheck() -> dict[str, str]:
        # The frontend's own health only: a backend outage must not get the frontend restarted.
        return {"status": "ok"}

    @app.get("/traceback")
    def traceback() -> NoReturn:
        raise RuntimeError("GET /traceback: deliberate failure to exercise the restart policy")

    return app
