"""Flask application: the ages endpoint behind HTTP basic auth, and a health check."""

from __future__ import annotations

import hmac
import logging

from flask import Flask, Response, jsonify, request

from .config import Credentials, Settings, load_settings
from .store import DataFileError, StudentAges

log = logging.getLogger(__name__)

AGES_PATH = "/supmit/api/v1.0/get_student_ages"


def _authorized(expected: Credentials) -> bool:
    auth = request.authorization
    if auth is None or auth.type != "basic":
        return False
    # Compare both fields, always, in constant time: no early exit that leaks which one failed.
    user_ok = hmac.compare_digest((auth.username or "").encode(), expected.username.encode())
    pass_ok = hmac.compare_digest((auth.password or "").encode(), expected.password.encode())
    return user_ok and pass_ok


def _error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def create_app(settings: Settings | None = None) -> Flask:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = settings or load_settings()
    ages = StudentAges(settings.data_file)
    if settings.credentials is None:
        log.error(
            "no credentials configured: set STUDENT_AGE_USERNAME and STUDENT_AGE_PASSWORD "
            "(or the *_FILE variants); every API request is refused with 503 until then"
        )
    # Report a missing data file at startup rather than on the first request.
    try:
        ages.get()
    except DataFileError as exc:
        log.error("%s", exc)

    app = Flask(__name__)

    @app.get(AGES_PATH)
    def get_student_ages() -> Response:
        if settings.credentials is None:
            return _error(503, "the API has no credentials configured")
        if not _authorized(settings.credentials):
            response = _error(401, "authentication required")
            response.headers["WWW-Authenticate"] = 'Basic realm="student_age"'
            return response
        try:
            return jsonify({"student_ages": ages.get()})
        except (DataFileError, OSError) as exc:
            log.error("%s", exc)
            return _error(500, f"the data file {settings.data_file} cannot be used")

    @app.get("/healthcheck")
    def healthcheck() -> Response:
        # Unconfigured credentials make every API call fail: report that as unhealthy.
        if settings.credentials is None:
            return _error(503, "no credentials configured")
        return jsonify({"status": "ok"})

    return app
