"""Unit tests of `labdock demo`'s start order (no engine)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from labdock.demo import CONFIG_FILES_LABEL, DEPENDS_ON_LABEL, start_order
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


def test_a_container_made_with_no_deps_takes_its_order_from_the_compose_file(
    tmp_path: Path,
) -> None:
    # `compose up --no-deps SERVICE` (how the stacks role updates a service) leaves the
    # depends_on label empty: the compose file the project came from still says it.
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n"
        "  socket_server: {image: s}\n"
        "  socket_client:\n"
        "    image: c\n"
        "    depends_on: {socket_server: {condition: service_healthy}}\n",
        encoding="utf-8",
    )
    labels = {CONFIG_FILES_LABEL: str(compose)}
    client = Service("socket_chat", "p", "socket_client", SimpleNamespace(labels=labels))  # type: ignore[arg-type]
    server = Service("socket_chat", "p", "socket_server", SimpleNamespace(labels=labels))  # type: ignore[arg-type]
    assert [s.name for s in start_order([client, server])] == ["socket_server", "socket_client"]
