"""Flask application: a JSON greeting, the health check, and a route that crashes the process."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from typing import NoReturn

from flask import Flask

from .crash import crash_on_unhandled_error


def create_app(exit_process: Callable[[int], NoReturn] = os._exit) -> Flask:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = Flask(__name__)
    crash_on_unhandled_error(app, exit_process)

    @app.get("/")
    def index() -> dict[str, str]:
        # The hostname is the container id: it shows which replica answered.
        return {
            "service": "backend",
            "message": "Hello from the backend",
            "hostname": socket.gethostname(),
        }

    @app.get("/healthcheck")
    def healthcheck() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/traceback")
    def traceback() -> NoReturn:
        raise RuntimeError("GET /traceback: deliberate failure to exercise the restart policy")

    return app
