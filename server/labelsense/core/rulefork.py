"""Rules run on two cores for a one-shot check: a forked child runs a share of them on
the same loaded dataset (inherited, not copied) and hands its findings back as
msgpack in a temporary file, while this process runs the rest.

Only for a process that does nothing else meanwhile (`labelsense check`), never the
language server. Where there is no `fork`, for small datasets, or when the child
fails in any way, the rules run here, one after the other.
"""
from __future__ import annotations

import os
import tempfile
import traceback
from typing import Callable

import msgspec

from .dataset import Dataset
from .rules.base import Rule
from .types import Finding

MIN_ROWS = 200_000  # below this a fork costs more than it saves
# The child's share: rules that build many findings from the key and content groups,
# about half of the rule time on the benchmark's 1M rows (see benchmarks/README.md).
CHILD_CODES = frozenset({"LS401", "LS403", "LS301", "LS405"})

OnError = Callable[[Rule, BaseException], None]
_Payload = tuple[list[Finding], list[tuple[str, str, str]]]  # findings, (code, repr, traceback) of failed rules


class ChildRuleError(Exception):
    """A rule that failed in the child: its error and traceback as text."""

    def __init__(self, text: str, trace: str) -> None:
        super().__init__(text)
        self.text, self.trace = text, trace

    def __repr__(self) -> str:
        return self.text


def run_forked(ds: Dataset, rules: list[Rule], on_error: OnError) -> list[Finding]:
    """The rules' findings (in no particular order), the child's share computed in a fork."""
    theirs = [r for r in rules if r.code in CHILD_CODES]
    ours = [r for r in rules if r.code not in CHILD_CODES]
    if not hasattr(os, "fork") or not theirs or not ours or sum(map(len, ds.manifests)) < MIN_ROWS:
        return run_each(ds, rules, on_error)
    ds.key_groups, ds.content_groups  # noqa: B018 - built once, before the fork, for both sides
    with tempfile.TemporaryFile(prefix="labelsense-") as box:
        pid = os.fork()
        if pid == 0:  # the child: run its share, write, leave without running any cleanup of the parent's
            code = 1
            try:
                failed: list[tuple[str, str, str]] = []
                found = run_each(ds, theirs, lambda rule, exc: failed.append((rule.code, repr(exc), traceback.format_exc())))
                box.write(msgspec.msgpack.encode((found, failed)))
                box.flush()
                code = 0
            finally:
                os._exit(code)
        findings = run_each(ds, ours, on_error)
        payload = _collect(pid, box)
    if payload is None:  # the child died or wrote nothing usable: its share runs here
        return findings + run_each(ds, theirs, on_error)
    found, failed = payload
    by_code = {r.code: r for r in theirs}
    for code, text, trace in failed:
        on_error(by_code[code], ChildRuleError(text, trace))
    return findings + found


def run_each(ds: Dataset, rules: list[Rule], on_error: OnError) -> list[Finding]:
    """Each rule's findings, here; a rule that fails is reported through `on_error`, the rest go on."""
    out: list[Finding] = []
    for rule in rules:
        try:
            out.extend(rule.check(ds))
        except Exception as exc:  # one broken rule must not stop the others
            on_error(rule, exc)
    return out


def _collect(pid: int, box: tempfile._TemporaryFileWrapper) -> _Payload | None:  # type: ignore[type-arg]
    try:
        _, status = os.waitpid(pid, 0)
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            return None
        box.seek(0)
        return msgspec.msgpack.decode(box.read(), type=_Payload)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None
