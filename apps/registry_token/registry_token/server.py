"""Serve the token app over TLS with cheroot (a threaded WSGI server with TLS built in;
waitress has none). One process: the service is PID 1 and stops cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import logging
import os
import signal
import sys
from types import FrameType

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from registry_token.app import Settings, TokenService

PORT = 5001


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stdout
    )
    settings = Settings.from_env()
    folder = settings.accounts_file.parent
    server = wsgi.Server(
        ("0.0.0.0", PORT),
        TokenService(settings),
        numthreads=int(os.environ.get("TOKEN_THREADS", "8")),
    )
    # The registry's own server certificate: clients trust the lab CA already.
    server.ssl_adapter = BuiltinSSLAdapter(str(folder / "tls.crt"), str(folder / "tls.key"))

    def stop(_signum: int, _frame: FrameType | None) -> None:
        server.stop()

    signal.signal(signal.SIGTERM, stop)
    try:
        server.start()
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
