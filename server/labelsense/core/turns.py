"""Steps that need much memory for a short while take turns: reading a large manifest
(its bytes, Arrow's table and the Python columns at once) and, in the language server,
parsing and handling a large message (a didOpen of a 200 MB file: its text, its lines).
At the same time their peaks would add up; one after the other, only the higher counts.
Turns are first come, first served, so a message never waits behind a whole workspace."""
from __future__ import annotations

import threading
from collections import deque
from contextlib import contextmanager
from typing import Iterator

LARGE = 32 << 20  # bytes from which a step waits for its turn


class Turns:
    """A first-come-first-served lock for large steps."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: deque[object] = deque()
        self._busy = False

    def take(self, size: int, timeout: float | None = None) -> bool:
        """Wait for the turn of a step handling `size` bytes; True when one was taken (then
        `give_back`); False for a small step, or after `timeout` seconds without a turn."""
        if size < LARGE:
            return False
        me = object()
        with self._cond:
            self._waiting.append(me)
            ok = False
            try:
                ok = self._cond.wait_for(lambda: not self._busy and self._waiting[0] is me, timeout)
            finally:
                self._waiting.remove(me)
                if ok:
                    self._busy = True
                self._cond.notify_all()  # the next in line may be the one to go now
            return ok

    def give_back(self) -> None:
        with self._cond:
            self._busy = False
            self._cond.notify_all()

    @contextmanager
    def turn(self, size: int, timeout: float | None = None) -> Iterator[None]:
        """Run the block alone among large steps when `size` is large (after `timeout`
        seconds of waiting, run it anyway: a step stuck elsewhere must not stop this one)."""
        taken = self.take(size, timeout)
        try:
            yield
        finally:
            if taken:
                self.give_back()


TURNS = Turns()  # the process's
