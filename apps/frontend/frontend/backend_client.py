"""Calls the backend's `GET /` (stdlib urllib: one GET does not justify another dependency)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class BackendError(Exception):
    """The backend could not be reached or did not answer 200 with a JSON body."""


def fetch_json(url: str, timeout: float) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        raise BackendError(f"backend answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise BackendError(f"backend unreachable: {reason}") from exc
    try:
        return json.loads(body)
    except ValueError as exc:
        raise BackendError("backend answered a body that is not JSON") from exc
