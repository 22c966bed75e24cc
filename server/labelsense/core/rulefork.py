"""Rules run on two cores: a forked child runs a share of them on the same loaded
dataset (inherited, not copied) and hands its findings back as msgpack in a
file in memory, while this process runs the rest.

The child only runs rules (pure Python over the dataset) and leaves with `os._exit`;
it never writes to the parent's streams. Where there is no `fork`, for small
datasets, or when the child fails, dies or does not answer in time (a lock some
other thread held at the fork, say), its share runs here.
"""
from __future__ import annotations

import os
import select
import signal
import tempfile
import threading
import time
import traceback
from typing import BinaryIO, Callable, Optional

import msgspec

from .dataset import Dataset
from .rules.base import Rule
from .types import Finding

MIN_ROWS = 200_000  # below this a fork costs more than it saves
MIN_WAIT = 10.0  # seconds the child may take beyond this side's share (at least 4x that share's time)
# The child's share: the rules that need only the rows grouped by key (built before the fork),
# about half of the rule and rendering time on the benchmark's 1M rows (measured: 0.76 + 0.15 s
# there, 0.89 + 0.06 s here, JSONL); this side builds the other groupings its rules need meanwhile.
CHILD_CODES = frozenset({"LS401", "LS402", "LS405"})

OnError = Callable[[Rule, BaseException], None]
Finish = Callable[[list[Finding]], list[Finding]]
Render = Callable[[list[Finding]], list[bytes]]
_Payload = tuple[list[Finding], Optional[list[bytes]], list[tuple[str, str, str]]]  # findings, their rendering, (code, repr, traceback) of failed rules


class ChildRuleError(Exception):
    """A rule that failed in the child: its error and traceback as text."""

    def __init__(self, text: str, trace: str) -> None:
        super().__init__(text)
        self.text, self.trace = text, trace

    def __repr__(self) -> str:
        return self.text


def trace_of(exc: BaseException) -> str:
    """The traceback of a rule's failure: the child's, or the one being handled here."""
    return exc.trace if isinstance(exc, ChildRuleError) else traceback.format_exc()


def run_forked(ds: Dataset, rules: list[Rule], on_error: OnError, finish: Finish = list,
               render: Render | None = None) -> tuple[list[Finding], list[bytes] | None]:
    """The rules' findings (in no particular order), the child's share computed in a fork; each
    side passes its findings through `finish` (config overrides, say) and, with `render`, also
    returns them rendered for output, one fragment per finding, in the same order. Rendered
    findings from the child come back without related locations and fixes (their fragments
    hold them; a caller that renders needs the findings only to order and count them)."""
    theirs = [r for r in rules if r.code in CHILD_CODES]
    ours = [r for r in rules if r.code not in CHILD_CODES]

    def here(share: list[Rule], failed: OnError) -> tuple[list[Finding], list[bytes] | None]:
        found = finish(run_each(ds, share, failed))
        return found, render(found) if render else None

    if not hasattr(os, "fork") or not theirs or not ours or sum(map(len, ds.manifests)) < MIN_ROWS:
        return here(rules, on_error)
    # Built once, before the fork, for both sides; and so the child never waits for the lock
    # that builds a cached property (one per property, which another thread may hold).
    ds.key_groups  # noqa: B018
    with _scratch() as box:
        try:
            done_r, done_w = os.pipe()  # the child writes one byte once its payload is in `box`
        except OSError:
            return here(rules, on_error)
        try:
            pid = os.fork()
        except OSError:  # no memory or processes left for a child: all of it here
            os.close(done_r)
            os.close(done_w)
            return here(rules, on_error)
        if pid == 0:  # the child: run its share, write, leave without running any cleanup of the parent's
            try:
                os.close(done_r)
                quiet = os.open(os.devnull, os.O_RDWR)  # a language server's stdio is its protocol channel
                for fd in (0, 1):
                    os.dup2(quiet, fd)
                failed: list[tuple[str, str, str]] = []
                found, fragments = here(theirs, lambda rule, exc: failed.append((rule.code, repr(exc), traceback.format_exc())))
                if fragments is not None:  # half the bytes to pass back, and to decode there
                    found = [msgspec.structs.replace(f, related=(), fixes=()) for f in found]
                box.write(msgspec.msgpack.encode((found, fragments, failed)))
                box.flush()
                os.write(done_w, b"1")
            finally:
                os._exit(0)
        os.close(done_w)
        started = time.monotonic()
        try:
            findings, rendered = here(ours, on_error)
        except BaseException:  # this side failed outside any rule: stop the child, then fail
            _collect(pid, done_r, box, 0)
            raise
        payload = _collect(pid, done_r, box, max(MIN_WAIT, 4 * (time.monotonic() - started)))
    if payload is not None and render is not None and (payload[1] is None or len(payload[1]) != len(payload[0])):
        payload = None  # its findings, stripped, without their fragments: as unusable as no payload
    if payload is None:  # the child died or wrote nothing usable: its share runs here
        found, fragments = here(theirs, on_error)
    else:
        found, fragments, failures = payload
        by_code = {r.code: r for r in theirs}
        for code, text, trace in failures:
            on_error(by_code[code], ChildRuleError(text, trace))
    return findings + found, None if render is None else rendered + fragments  # type: ignore[operator]


def run_each(ds: Dataset, rules: list[Rule], on_error: OnError) -> list[Finding]:
    """Each rule's findings, here; a rule that fails is reported through `on_error`, the rest go on."""
    out: list[Finding] = []
    for rule in rules:
        try:
            out.extend(rule.check(ds))
        except Exception as exc:  # one broken rule must not stop the others
            on_error(rule, exc)
    return out


def _scratch() -> BinaryIO:
    """A file for the child's payload, in memory where the system has `memfd_create` (a
    temporary file on disk took 0.06-0.1 s to write 40 MB); else a temporary file."""
    if hasattr(os, "memfd_create"):
        try:
            return os.fdopen(os.memfd_create("labelsense-rules", os.MFD_CLOEXEC), "w+b")
        except OSError:  # a kernel without it, or no memory: the disk will do
            pass
    return tempfile.TemporaryFile(prefix="labelsense-")


def _collect(pid: int, done: int, box: BinaryIO, wait: float) -> _Payload | None:
    """The child's payload once it says it is written; None if it ends without saying so or
    says nothing for `wait` seconds (then it is killed). The child is reaped on a thread, so
    its exit (unmapping a large heap) is not waited for."""
    try:
        with os.fdopen(done, "rb", buffering=0) as channel:
            poll = select.poll()
            poll.register(channel, select.POLLIN)
            ready = bool(poll.poll(wait * 1000)) and channel.read(1) == b"1"  # end of file: the child is gone
        if not ready:
            os.kill(pid, signal.SIGKILL)
            return None
        box.seek(0)
        return msgspec.msgpack.decode(box.read(), type=_Payload)
    except (OSError, ValueError, msgspec.DecodeError, msgspec.ValidationError):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:  # gone already
            pass
        return None
    finally:
        threading.Thread(target=_reap, args=(pid,), name="labelsense-reap", daemon=True).start()


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
