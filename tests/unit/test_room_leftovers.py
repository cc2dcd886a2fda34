"""`room reset`'s listing script as it is sent to a host (no host: a fake connection)."""

from __future__ import annotations

import io
import re
from types import SimpleNamespace
from typing import Any

from labdock.room.inventory import RoomHost
from labdock.room.jobs import HOST_CLIENT_CONFIG, leftovers
from tests.harness.playbooks import group_vars

HOST = RoomHost("pc01", "127.0.0.1", 22, None, None, None, local=False)


class ScriptCatcher:
    """A Fabric-like connection that keeps the script sent on stdin and lists nothing."""

    def __init__(self) -> None:
        self.script = ""

    def run(self, command: str, *, in_stream: io.StringIO, **_: Any) -> SimpleNamespace:
        self.script = in_stream.getvalue()
        return SimpleNamespace(exited=0, stdout="", stderr="")


def test_every_placeholder_of_the_listing_script_is_filled() -> None:
    connection = ScriptCatcher()
    assert leftovers(connection, HOST) == []
    # An unfilled placeholder read the registry from no file: every lab image was listed.
    assert re.findall(r"__[A-Z_]+__", connection.script) == []
    assert HOST_CLIENT_CONFIG in connection.script
    # The host's client.json where the labdock_cli role writes it (group_vars).
    assert group_vars()["labdock_host_config_path"] == HOST_CLIENT_CONFIG
