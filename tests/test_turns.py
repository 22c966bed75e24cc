"""Large steps take turns, first come first served; small ones never wait."""
from __future__ import annotations

import threading
import time

from labelsense.core.turns import LARGE, Turns


def test_large_steps_never_overlap_and_go_in_arrival_order() -> None:
    turns, order, inside = Turns(), [], []
    assert turns.take(LARGE)

    def step(name: str) -> None:
        with turns.turn(LARGE):
            inside.append(name)
            assert len(inside) == 1, inside  # alone
            order.append(name)
            time.sleep(0.01)
            inside.remove(name)

    threads = []
    for name in "abcd":
        threads.append(threading.Thread(target=step, args=(name,)))
        threads[-1].start()
        time.sleep(0.05)  # each is waiting before the next arrives
    turns.give_back()
    for t in threads:
        t.join(10)
    assert order == list("abcd")


def test_small_steps_do_not_wait_and_a_wait_can_time_out() -> None:
    turns = Turns()
    assert turns.take(LARGE)
    assert turns.take(LARGE - 1) is False  # small: goes at once, holds nothing
    started = time.monotonic()
    assert turns.take(LARGE, timeout=0.1) is False
    assert time.monotonic() - started >= 0.1
    turns.give_back()
    assert turns.take(LARGE, timeout=1)  # free again, also after a waiter gave up
    turns.give_back()


def test_a_step_runs_anyway_after_waiting_its_timeout() -> None:
    turns = Turns()
    assert turns.take(LARGE)  # a step stuck elsewhere holds the turn
    started = time.monotonic()
    with turns.turn(LARGE, timeout=0.1):
        ran = time.monotonic() - started
    assert 0.1 <= ran < 5
    turns.give_back()
    with turns.turn(LARGE, timeout=1):  # and the turn still works for the others
        pass
    assert turns.take(LARGE, timeout=1)


def test_a_waiter_that_fails_leaves_the_queue() -> None:
    turns = Turns()
    assert turns.take(LARGE)

    def interrupted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - as a KeyboardInterrupt in a wait would
        raise RuntimeError("interrupted")

    real = turns._cond.wait_for
    turns._cond.wait_for = interrupted  # type: ignore[method-assign]
    try:
        turns.take(LARGE)
    except RuntimeError:
        pass
    turns._cond.wait_for = real  # type: ignore[method-assign]
    turns.give_back()
    assert turns.take(LARGE, timeout=1)  # nobody stuck at the head of the queue
