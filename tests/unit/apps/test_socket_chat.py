"""Socket chat: a real server and client over loopback, with scripted terminals."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable

import pytest
import socket_client
import socket_server


class Terminal:
    """Scripted input() and print(): hands out lines, records prompts and output."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self.prompts: list[str] = []
        self.output: list[str] = []

    def read(self, prompt: str) -> str:
        self.prompts.append(prompt)
        try:
            return next(self._lines)
        except StopIteration:
            raise EOFError from None

    def write(self, text: str) -> None:
        self.output.append(text)


def run_chat(server_lines: list[str], client_lines: list[str]) -> tuple[Terminal, Terminal]:
    server_tty, client_tty = Terminal(server_lines), Terminal(client_lines)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        thread = threading.Thread(
            target=socket_server.serve, args=(listener, server_tty.read, server_tty.write)
        )
        thread.start()
        with socket_client.connect("127.0.0.1", port, patience=5, write=client_tty.write) as sock:
            socket_client.chat(sock, client_tty.read, client_tty.write)
        thread.join(timeout=10)
        assert not thread.is_alive(), "server did not end when the client left"
    return server_tty, client_tty


def test_hello_both_ways_then_bye_ends_both() -> None:
    server, client = run_chat(["Hello"], ["Hello", "  ByE "])
    assert "from connected user: Hello" in server.output
    assert "Received from server: Hello" in client.output
    assert server.prompts == [" -> "]
    assert client.prompts == [" -> ", " -> "]
    assert server.output[-1] == "client disconnected, bye"


def test_oversized_lines_are_refused_not_sent_and_not_fatal() -> None:
    big = "x" * 1025
    server, client = run_chat([big, "ok"], [big, "small", "bye"])
    assert "message too long (1025 bytes, at most 1024): not sent" in client.output
    assert "message too long (1025 bytes, at most 1024): not sent" in server.output
    assert [line for line in server.output if line.startswith("from connected user")] == [
        "from connected user: small"
    ]
    assert "Received from server: ok" in client.output


def test_a_full_1024_byte_message_arrives_whole() -> None:
    # Two-byte characters: the limit is on bytes, not characters.
    text = "é" * 512
    server, _ = run_chat(["ok"], [text, "bye"])
    assert f"from connected user: {text}" in server.output


def test_empty_lines_are_skipped() -> None:
    server, _ = run_chat(["", "   ", "fine"], ["", "hi", "bye"])
    assert [line for line in server.output if line.startswith("from")] == [
        "from connected user: hi"
    ]


def test_client_ends_when_its_terminal_closes() -> None:
    server, client = run_chat([], ["hi"])
    assert "from connected user: hi" in server.output
    # The server's terminal closed before it replied: it hangs up, the client says so.
    assert client.output[-1] == "the server closed the connection"


def test_client_gives_up_on_an_absent_server(closed_port: int) -> None:
    tty = Terminal([])
    with pytest.raises(OSError):
        socket_client.connect("127.0.0.1", closed_port, patience=0, write=tty.write)


def test_client_defaults_to_the_compose_service_name(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, int]] = []

    def refuse(host: str, port: int, patience: float) -> socket.socket:
        seen.append((host, port))
        raise ConnectionRefusedError("refused")

    monkeypatch.delenv("SERVER_HOST", raising=False)
    monkeypatch.delenv("SERVER_PORT", raising=False)
    monkeypatch.setattr(socket_client, "connect", refuse)
    assert socket_client.main() == 1
    assert seen == [("socket_server", 5000)]
