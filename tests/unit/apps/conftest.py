"""Make each course app importable by its package name, as PYTHONPATH does in its image."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

APPS = Path(__file__).resolve().parents[3] / "apps"

APP_DIRS = (
    "student_age",
    "backend",
    "frontend",
    "website",
    "simple-api",
    "socket_chat/api-server",
    "socket_chat/api-client",
    "registry_token",
)
for app_dir in APP_DIRS:
    sys.path.insert(0, str(APPS / app_dir))


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
