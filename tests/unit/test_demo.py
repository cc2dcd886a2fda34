"""Unit tests of `labdock demo`'s start order (no engine)."""

from __future__ import annotations

from types import SimpleNamespace

from labdock.demo import DEPENDS_ON_LABEL, start_order
from labdock.stackcheck.discovery import Service


def service(name: str, depends_on: str = "") -> Service:
    container = SimpleNamespace(labels={DEPENDS_ON_LABEL: depends_on} if depends_on else {})
    return Service("socket_chat", "p", name, container)  # type: ignore[arg-type]


def test_dependencies_start_first_whatever_the_listing_order() -> None:
    client = service("socket_client", "socket_server:service_healthy:false")
    server = service("socket_server")
    assert [s.name for s in start_order([client, server])] == ["socket_server", "socket_client"]


def test_a_dependency_outside_the_demo_does_not_block_it() -> None:
    lone = service("socket_client", "db:service_healthy:false")
    assert [s.name for s in start_order([lone])] == ["socket_client"]
