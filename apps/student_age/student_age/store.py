"""The student ages file, re-read whenever it changes on disk (it is usually a bind mount)."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

log = logging.getLogger(__name__)


class DataFileError(ValueError):
    """The data file exists but does not hold a name -> age mapping."""


def parse_ages(raw: object) -> dict[str, str]:
    """Normalise the file's content to name -> age as a string.

    Accepts the course's flat mapping and the same mapping wrapped in "student_ages" (the
    API's own answer), so a saved answer can be fed back as data.
    """
    if isinstance(raw, dict) and set(raw) == {"student_ages"}:
        raw = raw["student_ages"]
    if not isinstance(raw, dict):
        raise DataFileError("expected a JSON object mapping names to ages")
    ages: dict[str, str] = {}
    for name, age in raw.items():
        # bool is an int subclass; "true" is not an age.
        if isinstance(age, bool) or not isinstance(age, int | str):
            raise DataFileError(f"age of {name!r} must be a number or a string, got {age!r}")
        ages[name] = str(age)
    return ages


class StudentAges:
    """Caches the parsed file keyed on its (mtime, size) so each request costs one stat()."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._ages: dict[str, str] = {}
        self._missing_reported = False

    def get(self) -> dict[str, str]:
        with self._lock:
            try:
                stat = self._path.stat()
            except FileNotFoundError:
                self._report_missing()
                self._stamp, self._ages = None, {}
                return {}
            self._missing_reported = False
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp != self._stamp:
                self._ages = self._load()
                self._stamp = stamp
                log.info("loaded %d student(s) from %s", len(self._ages), self._path)
            return dict(self._ages)

    def _load(self) -> dict[str, str]:
        try:
            with self._path.open(encoding="utf-8") as handle:
                return parse_ages(json.load(handle))
        except json.JSONDecodeError as exc:
            raise DataFileError(f"{self._path} is not valid JSON: {exc}") from exc

    def _report_missing(self) -> None:
        # Once per disappearance, not once per request: the log stays readable.
        if not self._missing_reported:
            log.warning(
                "data file %s is missing: serving an empty student list until it appears "
                "(mount it, or set STUDENT_AGE_DATA_FILE)",
                self._path,
            )
            self._missing_reported = True
