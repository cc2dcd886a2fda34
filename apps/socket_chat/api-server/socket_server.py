"""Socket chat server: one client, each message printed, each reply typed on this terminal.

Standard library only, so the image needs no wheel and no build stage.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable

MAX_BYTES = 1024  # the course's limit for one message (one recv)
PROMPT = " -> "

Reader = Callable[[str], str]
Writer = Callable[[str], None]


def ask(read: Reader, write: Writer) -> bytes | None:
    """Next non-empty line from the terminal as bytes, None once the terminal is closed.

    A line over MAX_BYTES is refused with a message: clipping it would send half a sentence.
    """
    while True:
        try:
            line = read(PROMPT)
        except EOFError:
            return None
        data = line.encode()
        if not line.strip():
            continue
        if len(data) > MAX_BYTES:
            write(f"message too long ({len(data)} bytes, at most {MAX_BYTES}): not sent")
            continue
        return data


def serve(listener: socket.socket, read: Reader = input, write: Writer = print) -> None:
    """Chat with the first client that connects, until it disconnects."""
    conn, address = listener.accept()
    with conn:
        write(f"connection from: {address[0]}:{address[1]}")
        while data := conn.recv(MAX_BYTES):
            write(f"from connected user: {data.decode(errors='replace')}")
            reply = ask(read, write)
            if reply is None:
                break
            conn.sendall(reply)
    write("client disconnected, bye")


def main() -> int:
    host = os.environ.get("LISTEN_HOST", "0.0.0.0")
    port = int(os.environ.get("SERVER_PORT", "5000"))
    try:
        with socket.create_server((host, port)) as listener:
            print(f"listening on {host}:{port}", flush=True)
            serve(listener)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
