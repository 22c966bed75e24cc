"""Rules run on two cores: a forked child runs a share of them on the same loaded
dataset (inherited, not copied) and hands its findings back in a file in memory
(their rendering as is, the rest as msgpack), while this process runs the rest.

The child only runs rules (Python over the dataset, and Arrow for the values of the
rows it reads) and leaves with `os._exit`; it never writes to the parent's streams. Where there is no `fork`, for small
datasets, or when the child fails, dies or does not answer in time (a lock some
other thread held at the fork, say), its share runs here.
"""
from __future__ import annotations

import copy
import itertools
import mmap
import os
import select
import struct
import signal
import tempfile
import threading
import time
import traceback
from typing import BinaryIO, Callable, Iterable, Iterator, Optional

import msgspec

import numpy as np

from .dataset import Dataset, RowRef
from .rules.base import Rule
from .types import Finding

MIN_ROWS = 200_000  # below this a fork costs more than it saves
_BATCH = 1024  # buffers per writev (the system's IOV_MAX)
MIN_WAIT = 10.0  # seconds the child may take beyond this side's share (at least 4x that share's time)
# Rules whose findings come from the rows grouped by key, one group at a time: the groups (built
# before the fork) are handed out in SLICES slices to whichever side is free, so the two sides
# end together whatever the data (measured on the benchmark's 1M rows: these two rules and their
# rendering are about half of the rule time). The child alone runs CHILD_CODES meanwhile, this
# side the other rules and the other groupings they need.
SHARED_CODES = frozenset({"LS401", "LS402"})
CHILD_CODES = frozenset({"LS405"})
SLICES = 64

OnError = Callable[[Rule, BaseException], None]
Finish = Callable[[list[Finding]], list[Finding]]
Render = Callable[[list[Finding]], list[bytes]]
Fragment = bytes | memoryview  # a finding rendered: here, or by the child (a view of its payload)
_Failure = tuple[str, str, str]  # code, repr, traceback of a failed rule
_Payload = tuple[list[Finding], Optional[list[Fragment]], list[_Failure], list[int]]  # findings, their rendering, failures, slices checked
_Head = tuple[list[Finding], Optional[list[int]], list[_Failure], list[int]]  # in the file: the fragments' lengths for the fragments
_LENGTH = struct.Struct("<Q")


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
               render: Render | None = None) -> tuple[list[Finding], list[Fragment] | None]:
    """The rules' findings (in no particular order), part of them computed in a fork; each
    side passes its findings through `finish` (config overrides, say) and, with `render`, also
    returns them rendered for output, one fragment per finding, in the same order. Rendered
    findings from the child come back without related locations and fixes (their fragments
    hold them; a caller that renders needs the findings only to order and count them)."""
    theirs = [r for r in rules if r.code in CHILD_CODES]
    shared = [r for r in rules if r.code in SHARED_CODES]
    ours = [r for r in rules if r.code not in CHILD_CODES | SHARED_CODES]

    def here(own: list[Rule], failed: OnError, slices: Iterable[int] = (), sink: "_Sink | None" = None) -> tuple[list[Finding], list[Fragment] | None, list[int]]:
        """`own` rules on the whole dataset, then the shared rules on `slices` of its key
        groups; each part's findings finished and rendered as soon as it is done (so the
        sides' shares include rendering), and written to `sink` when there is one."""
        found: list[Finding] = []
        rendered: list[Fragment] | None = [] if render else None
        done: list[int] = []

        def add(new: list[Finding]) -> None:
            new = finish(new)
            pieces = render(new) if render else None
            if sink is not None:
                new, pieces = sink.add(new, pieces)
            found.extend(new)
            if rendered is not None and pieces is not None:
                rendered.extend(pieces)

        add(run_each(ds, own, failed))
        for i in slices:
            add(run_each(_sliced(ds, parts[i]), shared, failed))
            done.append(i)
        return found, rendered, done

    if not hasattr(os, "fork") or not (theirs or shared) or not (ours or shared) or sum(map(len, ds.manifests)) < MIN_ROWS:
        return here(rules, on_error)[:2]
    # Built once, before the fork, for both sides; and so the child never waits for the lock
    # that builds a cached property (one per property, which another thread may hold).
    groups = ds.key_groups
    ds.label_numbers, ds.split_numbers, ds.annotator_numbers  # noqa: B018 - the same
    for m in ds.manifests:  # no thread of this process may be working at the fork (the child would wait for it forever)
        m.name  # noqa: B018
        m.settle()
    bounds = np.linspace(0, len(groups), min(SLICES, len(groups)) + 1).astype(int).tolist() if shared else [0]
    parts = [groups[a:b] for a, b in itertools.pairwise(bounds)]
    with _scratch() as box:
        try:
            done_r, done_w = os.pipe()  # the child writes one byte once its payload is in `box`
        except OSError:
            return here(rules, on_error)[:2]
        try:
            queue = _Queue(len(parts))
        except OSError:
            os.close(done_r)
            os.close(done_w)
            return here(rules, on_error)[:2]
        try:
            pid = os.fork()
        except OSError:  # no memory or processes left for a child: all of it here
            for fd in (done_r, done_w, queue.fd):
                os.close(fd)
            return here(rules, on_error)[:2]
        if pid == 0:  # the child: run its share, write, leave without running any cleanup of the parent's
            try:
                os.close(done_r)
                quiet = os.open(os.devnull, os.O_RDWR)  # a language server's stdio is its protocol channel
                for fd in (0, 1):
                    os.dup2(quiet, fd)
                failed: dict[str, _Failure] = {}
                sink = _Sink(box.fileno())
                _, _, done = here(theirs, lambda rule, exc: failed.setdefault(rule.code, (rule.code, repr(exc), traceback.format_exc())), queue, sink)
                sink.close(list(failed.values()), done, rendered=render is not None)
                os.write(done_w, b"1")
            finally:
                os._exit(0)
        os.close(done_w)
        started = time.monotonic()
        reported: set[str] = set()  # a shared rule fails once per slice: reported once

        def failed_here(rule: Rule, exc: BaseException) -> None:
            if rule.code not in reported:
                reported.add(rule.code)
                on_error(rule, exc)

        try:
            findings, rendered, mine = here(ours, failed_here, queue)
        except BaseException:  # this side failed outside any rule: stop the child, then fail
            _collect(pid, done_r, box, 0)
            raise
        finally:
            os.close(queue.fd)
        payload = _collect(pid, done_r, box, max(MIN_WAIT, 4 * (time.monotonic() - started)))
    if payload is not None and render is not None and (payload[1] is None or len(payload[1]) != len(payload[0])):
        payload = None  # its findings, stripped, without their fragments: as unusable as no payload
    if payload is None:  # the child died or wrote nothing usable: its share runs here
        payload = (*here(theirs, failed_here, sorted(set(range(len(parts))) - set(mine))), [])
    else:
        by_code = {r.code: r for r in theirs + shared}
        for code, text, trace in payload[2]:
            failed_here(by_code[code], ChildRuleError(text, trace))
        if missing := sorted(set(range(len(parts))) - set(mine) - set(payload[3])):  # (never: each slice is taken by one side)
            extra = here([], failed_here, missing)
            payload = (payload[0] + extra[0], None if render is None else payload[1] + extra[1], [], [])  # type: ignore[operator]
    return findings + payload[0], None if render is None else rendered + payload[1]  # type: ignore[operator]


class _Queue:
    """The numbers 0…n-1, each handed to whichever process reads it first from a pipe both
    inherit (the write end closed: an empty queue reads as its end)."""

    def __init__(self, n: int) -> None:
        self.fd, write = os.pipe()
        try:
            os.write(write, struct.pack(f"<{n}H", *range(n)))  # n <= SLICES: far below a pipe's buffer
        finally:
            os.close(write)

    def __iter__(self) -> Iterator[int]:
        while len(got := os.read(self.fd, 2)) == 2:
            yield struct.unpack("<H", got)[0]


def _sliced(ds: Dataset, groups: list[list[RowRef]]) -> Dataset:
    """The dataset with only `groups` as its key groups (for the rules that read nothing else of them)."""
    view = copy.copy(ds)
    view.__dict__["key_groups"] = groups
    return view


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


class _Sink:
    """The child's payload, written as its findings come: their fragments one after the
    other (gathered by the system, not joined here); at the end the findings (without
    related locations and fixes when rendered: half the bytes to pass back and to decode
    there) with the fragments' lengths as msgpack, then where that starts."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.found: list[Finding] = []
        self.lengths: list[int] = []
        self.start = 0  # bytes of fragments so far: where the rest will start

    def add(self, found: list[Finding], pieces: list[bytes] | None) -> tuple[list[Finding], list[Fragment]]:
        if pieces is not None:
            _write_all(self.fd, pieces)
            self.lengths += map(len, pieces)
            self.start += sum(map(len, pieces))
            found = [msgspec.structs.replace(f, related=(), fixes=()) for f in found]
        self.found += found
        return [], []

    def close(self, failed: list[_Failure], done: list[int], rendered: bool) -> None:
        head = msgspec.msgpack.encode((self.found, self.lengths if rendered else None, failed, done))
        _write_all(self.fd, [head, _LENGTH.pack(self.start)])


def _write_all(fd: int, pieces: list[bytes]) -> None:
    for at in range(0, len(pieces), _BATCH):
        batch = pieces[at : at + _BATCH]
        wrote = os.writev(fd, batch)
        if wrote < sum(map(len, batch)):  # a short write (a signal, a full disk): the rest in turn
            rest = memoryview(b"".join(batch))[wrote:]
            while rest:
                rest = rest[os.write(fd, rest):]


def _take(box: BinaryIO) -> _Payload:
    """A payload `_Sink` wrote. The fragments are views of the file mapped into memory (60 MB
    of them at 1M rows: copying them made the memory to copy into, page by page)."""
    fd = box.fileno()
    size = os.fstat(fd).st_size
    start = _LENGTH.unpack(os.pread(fd, _LENGTH.size, size - _LENGTH.size))[0]
    found, lengths, failed, done = msgspec.msgpack.decode(os.pread(fd, size - _LENGTH.size - start, start), type=_Head)
    if lengths is None:
        return found, None, failed, done
    if sum(lengths) != start:
        raise ValueError("fragments and their lengths disagree")
    view = memoryview(mmap.mmap(fd, start, prot=mmap.PROT_READ, flags=mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0))) if start else memoryview(b"")
    return found, [view[end - n : end] for n, end in zip(lengths, itertools.accumulate(lengths))], failed, done


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
        return _take(box)
    except (OSError, ValueError, struct.error, msgspec.DecodeError, msgspec.ValidationError):
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
