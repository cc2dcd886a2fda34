"""frontend: relays the backend's answer; a dead backend is a 502 with a clear error."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NoReturn

import pytest
from frontend.app import create_app
from frontend.crash import EXIT_STATUS


class ProcessExit(Exception):
    pass


def fake_exit(status: int) -> NoReturn:
    raise ProcessExit(status)


@contextmanager
def serve(status: int, body: bytes) -> Iterator[str]:
    """A loopback HTTP server standing in for the backend, answering every GET the same."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def backend_url() -> Iterator[str]:
    with serve(200, json.dumps({"service": "backend", "message": "hi"}).encode()) as url:
        yield url


def test_index_includes_what_the_backend_said(backend_url: str) -> None:
    response = create_app(backend_url, 2, fake_exit).test_client().get("/")
    assert response.status_code == 200
    assert response.get_json()["backend"] == {"service": "backend", "message": "hi"}


def test_unreachable_backend_is_502_with_a_clear_error(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}/"
    response = create_app(url, 2, fake_exit).test_client().get("/")
    assert response.status_code == 502
    body = response.get_json()
    assert body["error"].startswith("backend unreachable")
    assert body["backend_url"] == url


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [(500, b"{}", "backend answered HTTP 500"), (200, b"<html>", "not JSON")],
)
def test_bad_backend_answers_are_502(status: int, body: bytes, error: str) -> None:
    with serve(status, body) as url:
        response = create_app(url, 2, fake_exit).test_client().get("/")
        assert response.status_code == 502
        assert error in response.get_json()["error"]


def test_backend_url_comes_from_env(monkeypatch: pytest.MonkeyPatch, closed_port: int) -> None:
    monkeypatch.setenv("BACKEND_URL", f"http://127.0.0.1:{closed_port}/api")
    body = create_app(exit_process=fake_exit).test_client().get("/").get_json()
    assert body["backend_url"] == f"http://127.0.0.1:{closed_port}/api"


def test_healthcheck_does_not_depend_on_the_backend(closed_port: int) -> None:
    client = create_app(f"http://127.0.0.1:{closed_port}/", 2, fake_exit).test_client()
    assert client.get("/healthcheck").get_json() == {"status": "ok"}


def test_traceback_exits_non_zero() -> None:
    with pytest.raises(ProcessExit) as exited:
        create_app("http://127.0.0.1:9/", 2, fake_exit).test_client().get("/traceback")
    assert exited.value.args == (EXIT_STATUS,)
