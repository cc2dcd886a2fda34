"""The public heads service: image URLs, and whether the service can be reached at all."""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

log = logging.getLogger(__name__)

# Shown when the service is unreachable: inline, so the page needs nothing from outside.
PLACEHOLDER_IMAGE = "data:image/svg+xml;utf8," + urllib.parse.quote(
    '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 8 8">'
    '<rect width="8" height="8" fill="#7a7a7a"/>'
    '<rect x="1" y="3" width="2" height="1" fill="#fff"/>'
    '<rect x="5" y="3" width="2" height="1" fill="#fff"/>'
    '<rect x="3" y="5" width="2" height="1" fill="#3a3a3a"/></svg>'
)


def probe(url: str, timeout: float) -> bool:
    """True when anything answers HTTP at URL (an error status still proves the service is up)."""
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout).close()
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError) as exc:
        log.warning("heads service %s unreachable: %s", url, getattr(exc, "reason", exc))
        return False
    return True


class HeadsService:
    """Builds image URLs and remembers reachability for `ttl` seconds.

    Without the cache an offline lab would pay the probe's timeout on every page view.
    """

    def __init__(
        self,
        url_template: str,
        timeout: float,
        ttl: float,
        probe: Callable[[str, float], bool] = probe,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._template = url_template
        parts = urllib.parse.urlsplit(url_template)
        self._origin = f"{parts.scheme}://{parts.netloc}/"
        self._timeout = timeout
        self._ttl = ttl
        self._probe = probe
        self._clock = clock
        self._lock = threading.Lock()
        self._checked_at: float | None = None
        self._reachable = False

    def image_url(self, name: str) -> str:
        return self._template.format(name=urllib.parse.quote(name, safe=""))

    def reachable(self) -> bool:
        with self._lock:
            now = self._clock()
            if self._checked_at is None or now - self._checked_at >= self._ttl:
                self._reachable = self._probe(self._origin, self._timeout)
                self._checked_at = now
            return self._reachable
