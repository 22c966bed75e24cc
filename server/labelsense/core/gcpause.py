"""Pausing the garbage collector during bulk loads.

Building millions of long-lived objects with the collector on makes each
collection rescan all of them (measured: 2.8x slower parsing, 6.6x slower
loading of a 74k-class taxonomy). Nothing in a bulk load creates cycles that
need collecting."""
from __future__ import annotations

import contextlib
import gc
from typing import Iterator


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
