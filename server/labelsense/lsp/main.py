"""`labelsense serve`: start the language server over stdio or TCP."""
from __future__ import annotations

import logging
import sys

SWITCH_INTERVAL = 0.001  # seconds a thread runs before one waiting for the interpreter lock gets it


def serve(tcp: bool = False, host: str = "127.0.0.1", port: int = 2087) -> int:
    from . import assist, blame, diagnostics, navigation, parquet_view, symbols, sync  # noqa: F401 - registers the handlers
    from .server import server

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="labelsense %(levelname)s %(message)s")
    # Reading a message waits for the interpreter lock after every read from the pipe, while
    # an analysis thread holds it: at the default 5 ms a 200 MB didOpen waited over a second.
    sys.setswitchinterval(SWITCH_INTERVAL)
    if tcp:
        server.start_tcp(host, port)
    else:
        server.start_io()
    return 0
