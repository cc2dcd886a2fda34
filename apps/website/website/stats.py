"""How many times each player name was queried, kept in a JSON file that survives restarts."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from pathlib import Path

log = logging.getLogger(__name__)


class QueryLog:
    def __init__(self, path: Path) -> None:
        self._path = path
        # waitress serves requests on several threads: read-modify-write must not interleave.
        self._lock = threading.Lock()

    def counts(self) -> dict[str, int]:
        with self._lock:
            return self._read()

    def record(self, name: str) -> int:
        with self._lock:
            counts = self._read()
            counts[name] = counts.get(name, 0) + 1
            self._write(counts)
            return counts[name]

    def _read(self) -> dict[str, int]:
        try:
            with self._path.open(encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            # Keep the damaged file for a human; counting restarts from zero beside it.
            aside = self._path.with_name(self._path.name + ".corrupt")
            os.replace(self._path, aside)
            log.error(
                "%s is not valid JSON (%s): moved to %s, starting from zero", self._path, exc, aside
            )
            return {}
        return {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _write(self, counts: dict[str, int]) -> None:
        # Temp file in the same directory, then rename: a crash never leaves half a file.
        fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=f".{self._path.name}.")
        try:
            # mkstemp creates 0600; the file holds no secret and teachers read it from the volume.
            os.fchmod(fd, 0o644)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(counts, handle, indent=2, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self._path)
        except BaseException:
            os.unlink(tmp)
            raise
