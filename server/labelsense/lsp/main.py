"""`labelsense serve`: start the language server over stdio or TCP."""
from __future__ import annotations

import logging
import sys


def serve(tcp: bool = False, host: str = "127.0.0.1", port: int = 2087) -> int:
    from . import assist, blame, diagnostics, navigation, parquet_view, symbols, sync  # noqa: F401 - registers the handlers
    from .server import server

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="labelsense %(levelname)s %(message)s")
    if tcp:
        server.start_tcp(host, port)
    else:
        server.start_io()
    return 0
