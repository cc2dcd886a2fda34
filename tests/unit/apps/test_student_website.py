"""student_website's PHP page against a fake student_age API, through PHP's built-in server.

Needs the `php` CLI on the host; without it the page is covered by the image checks
(integration/e2e), which run it under Apache in the php-apache base.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

PHP = shutil.which("php")
pytestmark = pytest.mark.skipif(PHP is None, reason="no php CLI on this host (apt: php8.2-cli)")
DOCROOT = Path(__file__).resolve().parents[3] / "apps/student_website/src"
AGES = {"alice": "12", "<b>eve</b>": "13"}


class FakeApi(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        expected = "Basic " + base64.b64encode(b"teacher:s3cret").decode()
        ok = self.headers.get("Authorization") == expected
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"student_ages": AGES} if ok else {"error": "no"}).encode())

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture(scope="module")
def api_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/supmit/api/v1.0/get_student_ages"
    server.shutdown()
    server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def press_button(env: dict[str, str], port: int) -> str:
    """Serve the page with `php -S` under ENV and press "List Student"."""
    assert PHP is not None
    with subprocess.Popen(
        [PHP, "-S", f"127.0.0.1:{port}", "-t", str(DOCROOT)],
        env={"PATH": "/usr/bin:/bin", **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as server:
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    data = urllib.parse.urlencode({"list": "1"}).encode()
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/", data, timeout=10
                    ) as page:
                        return page.read().decode()
                except urllib.error.URLError:
                    assert time.monotonic() < deadline, "php -S did not start"
                    time.sleep(0.1)
        finally:
            server.terminate()


def test_lists_students_escaped(api_url: str, closed_port: int) -> None:
    page = press_button(
        {"API_URL": api_url, "USERNAME": "teacher", "PASSWORD": "s3cret"}, closed_port
    )
    assert "<td>alice</td><td>12</td>" in page
    assert "&lt;b&gt;eve&lt;/b&gt;" in page
    assert "<b>eve</b>" not in page


def test_wrong_credentials_say_401(api_url: str, closed_port: int) -> None:
    page = press_button({"API_URL": api_url, "USERNAME": "teacher", "PASSWORD": "x"}, closed_port)
    assert "refused the credentials (HTTP 401)" in page


def test_unreachable_api_is_said_plainly(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}/x"
    page = press_button({"API_URL": url, "USERNAME": "a", "PASSWORD": "b"}, free_port())
    assert f"The student API at {url} is unreachable." in page


def test_missing_credentials_are_reported(api_url: str, closed_port: int) -> None:
    page = press_button({"API_URL": api_url}, closed_port)
    assert "no API credentials" in page
