"""`labdock verify`'s note on the registry UI, on a fake engine and a loopback HTTP server
standing for the UI's origin: which UI serves the pages, whether the challenge's realm is on
that origin, a UI that is down named; never a failed check."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest

from labdock.stackcheck.registry_ui import ui_note

PROJECT = "labdock-registry"


class FakeEngine:
    def __init__(self, containers: list[Any]) -> None:
        self.containers = SimpleNamespace(list=lambda **_: containers)


def container(service: str, port: int | None = None, health: str = "healthy") -> Any:
    ports = {"8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(port)}]} if port else {}
    return SimpleNamespace(
        name=f"{PROJECT}-{service}-1",
        status="running",
        attrs={"State": {"Health": {"Status": health}}, "NetworkSettings": {"Ports": ports}},
        labels={"com.docker.compose.service": service},
    )


@pytest.fixture
def origin() -> Iterator[SimpleNamespace]:
    """A loopback server answering /v2/ with 401 and `challenge` (a template on its origin)."""
    state = SimpleNamespace(challenge="", port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(401)
            self.send_header("WWW-Authenticate", state.challenge.format(port=state.port))
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def test_lab_page_with_the_realm_on_its_origin(origin: SimpleNamespace) -> None:
    origin.challenge = 'Bearer realm="http://127.0.0.1:{port}/token",service="labdock-registry"'
    engine = FakeEngine([container("registry"), container("ui", origin.port)])
    assert ui_note(engine, PROJECT) == (
        f"registry UI: the lab page (Joxit's image absent) on http://127.0.0.1:{origin.port}; "
        "/v2/ and /token answer through that same origin"
    )


def test_joxit_with_a_cross_site_realm_is_said(origin: SimpleNamespace) -> None:
    origin.challenge = 'Bearer realm="https://127.0.0.1:5001/token",service="labdock-registry"'
    engine = FakeEngine([container("registry"), container("ui", origin.port), container("joxit")])
    assert ui_note(engine, PROJECT) == (
        f"registry UI: Joxit on http://127.0.0.1:{origin.port}; but http://127.0.0.1:"
        f"{origin.port}/v2/ answers 401 with realm https://127.0.0.1:5001/token: a browser "
        "gets no login prompt"
    )


def test_ui_off_down_or_absent_registry() -> None:
    assert ui_note(FakeEngine([]), PROJECT) is None
    assert ui_note(FakeEngine([container("registry")]), PROJECT) == (
        "registry UI: not deployed (registry_ui_enabled is false)"
    )
    sick = FakeEngine([container("registry"), container("ui", 8080, health="unhealthy")])
    assert ui_note(sick, PROJECT) == f"registry UI: container {PROJECT}-ui-1 is unhealthy"
    joxit_down = FakeEngine(
        [container("registry"), container("ui", 8080), container("joxit", health="starting")]
    )
    assert ui_note(joxit_down, PROJECT) == (
        f"registry UI: Joxit's container {PROJECT}-joxit-1 is starting"
    )
