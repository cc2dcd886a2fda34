"""Socket chat client: sends each typed line to the server and prints its reply; `bye` ends.

Standard library only, so the image needs no wheel and no build stage.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Callable

MAX_BYTES = 1024  # the course's limit for one message (one recv)
PROMPT = " -> "

Reader = Callable[[str], str]
Writer = Callable[[str], None]


def connect(host: str, port: int, patience: float, write: Writer = print) -> socket.socket:
    """Connect, retrying for `patience` seconds: compose starts the server's container first,
    but its process may not be listening yet when the client starts."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return socket.create_connection((host, port), timeout=5)
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise
            write(f"waiting for {host}:{port} ({exc})")
            time.sleep(1)


def ask(read: Reader, write: Writer) -> str | None:
    """Next non-empty line that fits in one message, None once the terminal is closed.

    A line over MAX_BYTES is refused with a message: clipping it would send half a sentence.
    """
    while True:
        try:
            line = read(PROMPT)
        except EOFError:
            return None
        size = len(line.encode())
        if not line.strip():
            continue
        if size > MAX_BYTES:
            write(f"message too long ({size} bytes, at most {MAX_BYTES}): not sent")
            continue
        return line


def chat(sock: socket.socket, read: Reader = input, write: Writer = print) -> None:
    # Blocking on recv while the person at the server types a reply: no timeout.
    sock.settimeout(None)
    while (message := ask(read, write)) is not None and message.strip().lower() != "bye":
        sock.sendall(message.encode())
        data = sock.recv(MAX_BYTES)
        if not data:
            write("the server closed the connection")
            return
        write(f"Received from server: {data.decode(errors='replace')}")


def main() -> int:
    host = os.environ.get("SERVER_HOST", "socket_server")
    port = int(os.environ.get("SERVER_PORT", "5000"))
    patience = float(os.environ.get("SERVER_WAIT_SECONDS", "30"))
    try:
        with connect(host, port, patience) as sock:
            chat(sock)
    except OSError as exc:
        print(f"cannot reach the server at {host}:{port}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
