"""Measure the labelsense language server's latency with a real LSP client over stdio.

    python benchmarks/lsp_latency.py [--rows 100000,1000000] [--out benchmarks/results/lsp.json] [--quick]

For each size: generate a JSONL workspace (``generate.py --format jsonl``, cached in
``benchmarks/.data/``) and relabel up to ``--hot-uses`` unplanted rows to one class, then
drive ``python -m labelsense serve`` over its stdin/stdout with a small JSON-RPC client
(Content-Length framing, orjson; it answers the server's own requests). Three server
processes per size, one after the other (labelsense's bytecode compiled first, as
``run.py`` does):

- A (pulls diagnostics, like VS Code): first ``textDocument/diagnostic`` of the manifest
  while it is not open (read from disk, as VS Code does for files above 50 MB), then
  didOpen with the full text and a pull, hover / definition / completion on labels,
  one-character edits (a label made unknown, then fixed) each followed by a pull,
  references and rename of the class used ``--hot-uses`` times;
- B (pulls): didOpen right after start-up and a pull (an editor opening the file at once);
- C (push only, no pull capability): the first ``textDocument/publishDiagnostics`` of the
  manifest (not open), then didOpen and the same edits, each timed to the push that shows it.

The edit loops set aside what the harness holds (gc.freeze, before the loop and after each
edit) and report its own collector
pauses (``client_gc``), which would otherwise count as server latency. Server A also checks
that an edit sent while an analysis is running shows up in later pulls
(``edit_during_analysis``) and reads its RSS after each phase (``rss_by_phase_mib``).
Peak RSS (``VmHWM`` from /proc) is read from each server before shutdown; every server is
stopped by PID (killed if it does not exit after shutdown/exit). Every wait has a timeout;
a failing measurement is recorded as an ``error`` string and the others still run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import hashlib
import json
import math
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import generate  # noqa: E402
from run import child_env, compile_bytecode, fresh_memory, machine  # noqa: E402

MiB = 1024 * 1024
HARNESS_VERSION = 1  # bump when the workspace post-processing changes (part of the cache key)
LABEL_RE = re.compile(rb'"label":"([^"\\]*)"')
TARGETS: list[dict[str, Any]] = [
    {"name": "first-diagnostics-pull-disk", "metric": "first_diagnostics.pull_disk_s", "limit": 4.0},
    {"name": "first-diagnostics-pull-open", "metric": "first_diagnostics.pull_open_cold_s", "limit": 4.0},
    {"name": "first-diagnostics-push-disk", "metric": "first_diagnostics.push_disk_s", "limit": 4.0},
    {"name": "edit-to-diagnostics-pull-p95", "metric": "edit_pull.p95_ms", "limit": 50.0},
    {"name": "edit-to-diagnostics-push-p95", "metric": "edit_push.p95_ms", "limit": 50.0},
    {"name": "hover-p95", "metric": "hover.p95_ms", "limit": 30.0},
    {"name": "definition-p95", "metric": "definition.p95_ms", "limit": 30.0},
    {"name": "completion-p95", "metric": "completion.p95_ms", "limit": 30.0},
    {"name": "references-hot-class", "metric": "references.s", "limit": 1.0},
    {"name": "server-rss", "metric": "rss_mib", "limit": 1536.0},
]


def client_caps(pull: bool) -> dict[str, Any]:
    """Client capabilities close to VS Code's (pull) or to a push-only client."""
    td: dict[str, Any] = {
        "synchronization": {"dynamicRegistration": False, "didSave": True},
        "publishDiagnostics": {"relatedInformation": True, "versionSupport": True, "codeDescriptionSupport": True,
                               "tagSupport": {"valueSet": [1, 2]}},
        "hover": {"contentFormat": ["markdown", "plaintext"]},
        "completion": {"completionItem": {"snippetSupport": False, "documentationFormat": ["markdown", "plaintext"],
                                          "deprecatedSupport": True, "tagSupport": {"valueSet": [1]}}},
        "definition": {"linkSupport": False},
        "references": {},
        "rename": {"prepareSupport": True},
    }
    ws: dict[str, Any] = {"configuration": True, "workspaceFolders": True,
                          "didChangeWatchedFiles": {"dynamicRegistration": True}}
    if pull:
        td["diagnostic"] = {"dynamicRegistration": False, "relatedDocumentSupport": False}
        ws["diagnostics"] = {"refreshSupport": True}
    return {"general": {"positionEncodings": ["utf-16"]}, "workspace": ws, "window": {"workDoneProgress": True},
            "textDocument": td}


# -- a minimal JSON-RPC / LSP client over the server's pipes --------------------------------------

LIVE: set[int] = set()  # server PIDs started and not yet reaped: killed on the way out whatever happens


def kill_leftovers() -> None:
    for pid in list(LIVE):
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        LIVE.discard(pid)


class RpcError(Exception):
    """An error response, or the server gone."""


class Client:
    """Sends requests and notifications, answers the server's requests, records its notifications."""

    def __init__(self, proc: asyncio.subprocess.Process, stderr_path: Path) -> None:
        self.proc = proc
        self.stderr_path = stderr_path
        self._next_id = 0
        self._pending: dict[int, asyncio.Future] = {}
        self.notes: list[tuple[float, str, Any]] = []  # (arrival, method, params)
        self._note_event = asyncio.Event()
        self.server_requests: dict[str, int] = {}
        self.closed: str | None = None
        self._reader = asyncio.ensure_future(self._read_loop())

    @classmethod
    async def start(cls, cmd: list[str], cwd: Path, stderr_path: Path) -> "Client":
        with stderr_path.open("wb") as err:
            proc = await asyncio.create_subprocess_exec(*cmd, cwd=cwd, env=child_env(), stdin=asyncio.subprocess.PIPE,
                                                        stdout=asyncio.subprocess.PIPE, stderr=err,
                                                        limit=1 << 20)
        LIVE.add(proc.pid)
        return cls(proc, stderr_path)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stderr_tail(self, n: int = 2000) -> str:
        try:
            return self.stderr_path.read_bytes()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    async def _read_loop(self) -> None:
        out = self.proc.stdout
        assert out is not None
        try:
            while True:
                length = None
                while True:
                    line = await out.readline()
                    if not line:
                        raise EOFError
                    line = line.strip()
                    if not line:
                        break
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length is None:
                    raise RpcError("a message without Content-Length")
                body = await out.readexactly(length)
                arrived = time.perf_counter()
                msg = orjson.loads(body)
                if "method" not in msg:
                    fut = self._pending.pop(msg.get("id"), None)
                    if fut is not None and not fut.done():
                        fut.set_result((msg, arrived, length))
                elif "id" in msg:
                    self._answer(msg)
                else:
                    self.notes.append((arrived, msg["method"], msg.get("params")))
                    self._note_event.set()
        except (EOFError, asyncio.IncompleteReadError, ConnectionError) as exc:
            self._gone(f"server closed its stdout ({type(exc).__name__})")
        except Exception as exc:  # a framing or JSON problem: nothing more can be read
            self._gone(f"reading from the server failed: {exc!r}")

    def _gone(self, why: str) -> None:
        self.closed = why
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(RpcError(why))
        self._pending.clear()
        self._note_event.set()

    def _answer(self, msg: dict[str, Any]) -> None:
        method = msg["method"]
        self.server_requests[method] = self.server_requests.get(method, 0) + 1
        params = msg.get("params") or {}
        if method == "workspace/configuration":
            result: Any = [{} for _ in params.get("items", [])]
        elif method == "workspace/applyEdit":
            result = {"applied": False}
        elif method in ("client/registerCapability", "client/unregisterCapability", "window/workDoneProgress/create",
                        "workspace/diagnostic/refresh", "window/showMessageRequest", "workspace/codeLens/refresh",
                        "workspace/inlayHint/refresh", "workspace/semanticTokens/refresh"):
            result = None
        else:
            self._write({"jsonrpc": "2.0", "id": msg["id"], "error": {"code": -32601, "message": f"unhandled {method}"}})
            return
        self._write({"jsonrpc": "2.0", "id": msg["id"], "result": result})

    @staticmethod
    def frame(msg: dict[str, Any]) -> bytes:
        body = orjson.dumps(msg)
        return b"Content-Length: %d\r\n\r\n" % len(body) + body

    def _write(self, msg: dict[str, Any] | bytes) -> None:
        if self.closed:
            raise RpcError(self.closed)
        assert self.proc.stdin is not None
        self.proc.stdin.write(msg if isinstance(msg, bytes) else self.frame(msg))

    async def send(self, data: bytes) -> None:
        """Write pre-framed bytes (e.g. a big didOpen) and wait until the pipe took them."""
        self._write(data)
        assert self.proc.stdin is not None
        await self.proc.stdin.drain()

    def notify(self, method: str, params: Any) -> None:
        self._write({"jsonrpc": "2.0", "method": method, "params": params})

    async def request(self, method: str, params: Any, timeout: float) -> tuple[Any, float, int]:
        """(result, seconds from sending to the whole response read, response bytes); RpcError on an error."""
        self._next_id += 1
        rid = self._next_id
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        t0 = time.perf_counter()
        try:
            self._write({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
            assert self.proc.stdin is not None
            await self.proc.stdin.drain()
            msg, arrived, size = await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            self._pending.pop(rid, None)
            self._write({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": rid}})
            raise RpcError(f"{method}: no response after {timeout:.0f} s") from None
        if "error" in msg:
            raise RpcError(f"{method}: error response {msg['error']}")
        return msg.get("result"), arrived - t0, size

    async def wait_note(self, pred: Callable[[str, Any], bool], since: int, timeout: float) -> tuple[int, float, Any]:
        """The first notification at index >= since satisfying pred: (index, arrival, params)."""
        deadline = time.perf_counter() + timeout
        i = since
        while True:
            while i < len(self.notes):
                arrived, method, params = self.notes[i]
                if pred(method, params):
                    return i, arrived, params
                i += 1
            if self.closed:
                raise RpcError(self.closed)
            left = deadline - time.perf_counter()
            if left <= 0:
                raise RpcError(f"no matching notification after {timeout:.0f} s")
            self._note_event.clear()
            try:
                await asyncio.wait_for(self._note_event.wait(), left)
            except asyncio.TimeoutError:
                pass

    def messages(self) -> list[str]:
        """What the server showed or logged to the user (errors and warnings)."""
        return [f"{m}: {p.get('message')}" for _, m, p in self.notes
                if m in ("window/showMessage", "window/logMessage") and isinstance(p, dict) and p.get("type", 4) <= 2]

    async def stop(self, timeout: float) -> dict[str, Any]:
        """shutdown + exit; kill the process by PID if it is still there after `timeout`."""
        info: dict[str, Any] = {}
        if not self.closed:
            try:
                await self.request("shutdown", None, timeout)
                self.notify("exit", None)
                await self.proc.stdin.drain()  # type: ignore[union-attr]
            except Exception as exc:
                info["shutdown_error"] = str(exc)
        elif self.proc.stdin is not None:
            self.proc.stdin.close()  # the stream is unusable: EOF on stdin is the server's cue to exit
        try:
            info["exit_code"] = await asyncio.wait_for(self.proc.wait(), timeout)
        except asyncio.TimeoutError:
            info["killed"] = True
            try:
                os.kill(self.pid, 9)
            except ProcessLookupError:
                pass
            info["exit_code"] = await self.proc.wait()
        LIVE.discard(self.pid)
        self._reader.cancel()
        return info


def proc_memory(pid: int) -> dict[str, float]:
    """VmHWM (peak RSS) and VmRSS of a live process, in MiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key.lower() + "_mib"] = round(int(value.split()[0]) / 1024, 1)
    return out


# -- the workspace ---------------------------------------------------------------------------

def workspace(rows: int, seed: int, hot_uses: int, data_dir: Path) -> tuple[Path, dict[str, Any], float]:
    """A generated JSONL dataset dir where one class is used by ``hot_uses`` rows (at most half
    the rows; only unplanted rows are relabelled, so the planted findings stay as they were)."""
    stamp = hashlib.sha256((HERE / "generate.py").read_bytes()).hexdigest()[:10]
    root = data_dir / f"lsp-{rows}-s{seed}-hot{hot_uses}-v{HARNESS_VERSION}-{stamp}"
    ws, meta_path = root / "ws", root / "workspace.json"
    if meta_path.exists() and (ws / "data" / "train.jsonl").exists():
        return ws, json.loads(meta_path.read_text()), 0.0
    t0 = time.perf_counter()
    generate.generate(rows, ws, seed, "jsonl")
    manifest = ws / "data" / "train.jsonl"
    expected = json.loads((ws / "expected.json").read_text())
    planted = {n - 1 for p in expected["planted"].values() for n in p["lines"]}  # 0-based
    lines = manifest.read_bytes().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    labels = [m.group(1) if (m := LABEL_RE.search(ln)) else None for ln in lines]
    free = [i for i in range(len(lines)) if i not in planted and labels[i] is not None]
    counts: dict[bytes, int] = {}
    for i in free:
        counts[labels[i]] = counts.get(labels[i], 0) + 1  # type: ignore[index]
    hot = max(sorted(counts), key=lambda k: counts[k])
    want = min(hot_uses, len(lines) // 2)
    others = [i for i in free if labels[i] != hot]
    rng = random.Random(seed)
    relabel = rng.sample(others, max(0, min(len(others), want - counts[hot])))
    for i in relabel:
        lines[i] = LABEL_RE.sub(b'"label":"' + hot + b'"', lines[i], count=1)
    manifest.write_bytes(b"\n".join(lines) + b"\n")
    uses = sum(1 for ln in lines if b'"label":"' + hot + b'"' in ln)
    meta = {"rows": len(lines), "hot_class": hot.decode(), "hot_uses": uses, "relabelled_rows": len(relabel),
            "planted_lines": len(planted), "manifest_mib": round(manifest.stat().st_size / MiB, 1)}
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return ws, meta, time.perf_counter() - t0


class ClientGC:
    """The harness's own garbage-collection pauses while it is recording (they add to what it times)."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._start = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._start)

    def stop(self) -> None:
        gc.callbacks.remove(self._callback)

    def summary(self) -> dict[str, Any]:
        return {"collections": len(self.pauses), "max_ms": round(max(self.pauses, default=0) * 1000, 2),
                "total_ms": round(sum(self.pauses) * 1000, 2)}


class Lines:
    """The manifest's lines (bytes) and which ones the measurements may touch."""

    def __init__(self, ws: Path, hot: str) -> None:
        self.path = ws / "data" / "train.jsonl"
        self.data = self.path.read_bytes()
        self.lines = self.data.split(b"\n")
        if self.lines and self.lines[-1] == b"":
            self.lines.pop()
        expected = json.loads((ws / "expected.json").read_text())
        self.planted = {n - 1 for p in expected["planted"].values() for n in p["lines"]}
        self.hot = hot.encode()

    def label_col(self, n: int) -> tuple[int, str] | None:
        """(column of the label's first character, label) on line n (ASCII data: column = byte)."""
        m = LABEL_RE.search(self.lines[n])
        return (m.start(1), m.group(1).decode()) if m else None

    def pick(self, rng: random.Random, k: int, below: int | None = None, hot: bool = False) -> list[int]:
        """k distinct unplanted lines (below `below`) whose label is (not) the hot class."""
        hi = min(len(self.lines), below if below is not None else len(self.lines))
        out: list[int] = []
        seen: set[int] = set()
        for _ in range(200 * k):
            if len(out) == k or len(seen) >= hi:
                break
            n = rng.randrange(hi)
            if n in seen:
                continue
            seen.add(n)
            lc = self.label_col(n)
            if n not in self.planted and lc and lc[1][:1].islower() and (lc[1].encode() == self.hot) == hot:
                out.append(n)
        return out


# -- measurements ----------------------------------------------------------------------------

def ms_summary(samples: list[float], errors: list[str], **extra: Any) -> dict[str, Any]:
    """p50 / p95 (nearest rank) / max in ms of the samples that succeeded."""
    res: dict[str, Any] = {"n": len(samples) + len(errors), "ok": len(samples)}
    if samples:
        s = sorted(samples)
        res |= {"p50_ms": round(statistics.median(s) * 1000, 2), "p95_ms": round(s[math.ceil(0.95 * len(s)) - 1] * 1000, 2),
                "max_ms": round(s[-1] * 1000, 2), "all_ms": [round(x * 1000, 2) for x in samples]}
    if errors:
        res["errors"] = errors[:5]
        if not samples:
            res["error"] = errors[0]
    return res | extra


class Run:
    """One server process and what was measured on it."""

    def __init__(self, name: str, a: argparse.Namespace, ws: Path, tmp: Path) -> None:
        self.name, self.a, self.ws, self.tmp = name, a, ws, tmp
        self.uri = (ws / "data" / "train.jsonl").resolve().as_uri()
        self.client: Client | None = None
        self.t_initialized = 0.0
        self.version = 1
        self.result_id: str | None = None

    async def start(self, pull: bool) -> dict[str, Any]:
        cmd = [sys.executable, "-m", "labelsense", "serve"]
        self.client = c = await Client.start(cmd, self.ws, self.tmp / f"{self.name}.stderr")
        params = {"processId": os.getpid(), "rootUri": self.ws.resolve().as_uri(), "capabilities": client_caps(pull),
                  "workspaceFolders": [{"uri": self.ws.resolve().as_uri(), "name": "bench"}],
                  "clientInfo": {"name": "labelsense-lsp-latency"}}
        result, secs, _ = await c.request("initialize", params, self.a.request_timeout)
        c.notify("initialized", {})
        self.t_initialized = time.perf_counter()
        caps = result.get("capabilities", {})
        return {"pid": c.pid, "initialize_ms": round(secs * 1000, 1), "sync": caps.get("textDocumentSync"),
                "pull_advertised": "diagnosticProvider" in caps}

    def did_open_frame(self, text: bytes) -> bytes:
        """The didOpen notification, framed (built before the clock starts: it is the editor's cost)."""
        head = orjson.dumps({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": self.uri, "languageId": "jsonl", "version": self.version, "text": "\x00"}}})
        i = head.index(b'"\\u0000"')
        body = head[:i] + orjson.dumps(text.decode("utf-8")) + head[i + 8:]
        return b"Content-Length: %d\r\n\r\n" % len(body) + body

    async def pull(self, timeout: float, previous: bool = False) -> tuple[dict[str, Any], float]:
        assert self.client is not None
        params: dict[str, Any] = {"textDocument": {"uri": self.uri}}
        if previous and self.result_id:
            params["previousResultId"] = self.result_id
        report, secs, _ = await self.client.request("textDocument/diagnostic", params, timeout)
        self.result_id = report.get("resultId")
        return report, secs

    def change(self, line: int, col: int, text: str) -> None:
        assert self.client is not None
        self.version += 1
        self.client.notify("textDocument/didChange", {
            "textDocument": {"uri": self.uri, "version": self.version},
            "contentChanges": [{"range": {"start": {"line": line, "character": col}, "end": {"line": line, "character": col + 1}},
                                "text": text}]})

    async def stop(self) -> dict[str, Any]:
        if self.client is None:
            return {}
        info: dict[str, Any] = {}
        try:
            info |= proc_memory(self.client.pid)
        except OSError as exc:
            info["memory_error"] = f"could not read /proc/{self.client.pid}/status: {exc}"
        info |= await self.client.stop(self.a.request_timeout)
        messages = self.client.messages()
        if messages:
            info["server_messages"] = messages[:10]
        if self.client.server_requests:
            info["server_requests"] = dict(self.client.server_requests)
        if info.get("exit_code") not in (0, None) or info.get("killed"):
            info["stderr_tail"] = self.client.stderr_tail()
        return info


def has_unknown_on(items: list[dict[str, Any]], line: int) -> bool:
    return any(d.get("code") == "LS301" and d["range"]["start"]["line"] == line for d in items)


def cutoff_line(items: list[dict[str, Any]]) -> int | None:
    """With more findings than maxDiagnosticsPerFile, the server sends the first ones (by line)
    and a summary: only an edit above the last line shown can show up. None when all are shown."""
    if not any(d.get("code") is None and "not shown" in d.get("message", "") for d in items):
        return None
    return max(d["range"]["start"]["line"] for d in items if d.get("code"))


async def timed(res: dict[str, Any], key: str, coro: Any) -> Any:
    """Await a measurement, recording an error string under `key` instead of raising."""
    try:
        return await coro
    except Exception as exc:  # one failed measurement must not lose the others
        res[key] = {"error": f"{type(exc).__name__}: {exc}"} if not isinstance(res.get(key), dict) else res[key] | {"error": str(exc)}
        return None


async def edits(run: Run, lines: Lines, targets: list[int], n: int, push: bool, timeout: float) -> dict[str, Any]:
    """n one-character edits, alternately breaking a label (lower → upper case first letter: LS301)
    and fixing it; each timed from didChange to diagnostics that show it (pull, or the push)."""
    assert run.client is not None
    samples: list[float] = []
    errors: list[str] = []
    stale = 0
    # The harness's own collector must not be timed as the server's latency: what it holds so far
    # (a million lines, earlier replies) is set aside, and its pauses in the loop are reported.
    gc.collect()
    gc.freeze()
    pauses = ClientGC()
    for k in range(n):
        if not targets:
            errors.append("no line to edit")
            break
        line = targets[(k // 2) % len(targets)]
        lc = lines.label_col(line)
        assert lc is not None
        col, label = lc
        broken = k % 2 == 0
        since = len(run.client.notes)
        t0 = time.perf_counter()
        run.change(line, col, label[0].upper() if broken else label[0])
        try:
            if push:
                _, arrived, _ = await run.client.wait_note(
                    lambda m, p: m == "textDocument/publishDiagnostics" and p["uri"] == run.uri
                    and has_unknown_on(p["diagnostics"], line) == broken, since, timeout)
                samples.append(arrived - t0)
                continue
            while True:
                report, _ = await run.pull(timeout, previous=True)
                if report.get("kind") == "full" and has_unknown_on(report["items"], line) == broken:
                    samples.append(time.perf_counter() - t0)
                    break
                stale += 1
                if time.perf_counter() - t0 > timeout:
                    raise RpcError(f"diagnostics did not show the edit on line {line + 1} after {timeout:.0f} s")
                await asyncio.sleep(0.01)
        except Exception as exc:
            errors.append(f"edit {k} (line {line + 1}, {'break' if broken else 'fix'}): {exc}")
            if run.client.closed:
                break
        finally:  # outside the timed window: the reply just kept (a push is ~1000 diagnostics) is set aside too,
            gc.freeze()  # or every ninth edit waits on a collection that rescans all the earlier ones (~50 ms)
    pauses.stop()
    return ms_summary(samples, errors, stale_pulls=stale, lines=[t + 1 for t in targets], client_gc=pauses.summary())


async def edit_during_analysis(run: Run, lines: Lines, line: int, delay: float, timeout: float) -> dict[str, Any]:
    """An edit that arrives while the previous change's analysis is still running: does a later
    pull show it? (A server that caches the analysis it started before the edit keeps showing
    the old findings until the next change.) The line is restored afterwards."""
    col, label = lines.label_col(line)  # type: ignore[misc]
    run.change(line, col, label[0])  # the same character: a new version, so the analysis is redone
    first = asyncio.ensure_future(run.pull(timeout))  # starts that analysis
    await asyncio.sleep(delay)
    t0 = time.perf_counter()
    run.change(line, col, label[0].upper())  # makes the label an unknown class while it runs
    shown, pulls = False, 0
    try:
        await first
        for pulls in range(1, 4):
            report, _ = await run.pull(timeout)
            if report.get("kind") == "full" and has_unknown_on(report["items"], line):
                shown = True
                break
            await asyncio.sleep(0.5)
    finally:
        run.change(line, col, label[0])
        await run.pull(timeout)
    return {"pass": shown, "pulls": pulls, "line": line + 1, "delay_s": round(delay, 3),
            "s": round(time.perf_counter() - t0, 3) if shown else None}


async def features(run: Run, lines: Lines, rng: random.Random, n: int) -> dict[str, Any]:
    """hover, definition and completion at label positions of n random lines each."""
    assert run.client is not None
    out: dict[str, Any] = {}
    for method, key in (("textDocument/hover", "hover"), ("textDocument/definition", "definition"),
                        ("textDocument/completion", "completion")):
        samples: list[float] = []
        errors: list[str] = []
        sizes: list[int] = []
        empty = 0
        for line in lines.pick(rng, n):
            lc = lines.label_col(line)
            assert lc is not None
            col = lc[0] + 1  # inside the label string
            params = {"textDocument": {"uri": run.uri}, "position": {"line": line, "character": col}}
            try:
                result, secs, size = await run.client.request(method, params, run.a.request_timeout)
            except Exception as exc:
                errors.append(f"line {line + 1}: {exc}")
                if run.client.closed:
                    break
                continue
            samples.append(secs)
            sizes.append(size)
            ok = {"hover": lambda r: bool(r and lc[1] in json.dumps(r.get("contents"))),
                  "definition": lambda r: bool(r and "taxonomy" in json.dumps(r)),
                  "completion": lambda r: bool(r and len(r.get("items", r) if isinstance(r, dict) else r) >= 900)}[key]
            empty += not ok(result)
        out[key] = ms_summary(samples, errors, unexpected_results=empty,
                              response_kib_max=round(max(sizes) / 1024, 1) if sizes else None)
    return out


async def navigation(run: Run, lines: Lines, rng: random.Random, hot: str, timeout: float, res: dict[str, Any]) -> None:
    """references and rename of the hot class, from a label of it in the open manifest."""
    assert run.client is not None
    picked = lines.pick(rng, 1, hot=True)
    if not picked:
        res["references"] = res["rename"] = {"error": f"no unplanted line with label {hot!r}"}
        return
    line = picked[0]
    col = lines.label_col(line)[0] + 1  # type: ignore[index]
    pos = {"textDocument": {"uri": run.uri}, "position": {"line": line, "character": col}}

    async def refs() -> None:
        result, secs, size = await run.client.request("textDocument/references", pos | {"context": {"includeDeclaration": True}}, timeout)  # type: ignore[union-attr]
        res["references"] = {"s": round(secs, 3), "locations": len(result or ()), "response_mib": round(size / MiB, 1), "line": line + 1}

    async def rename() -> None:
        result, secs, size = await run.client.request("textDocument/rename", pos | {"newName": hot + "_renamed"}, timeout)  # type: ignore[union-attr]
        changes = (result or {}).get("changes") or {}
        res["rename"] = {"s": round(secs, 3), "text_edits": sum(len(v) for v in changes.values()), "files": len(changes),
                         "response_mib": round(size / MiB, 1)}

    await timed(res, "references", refs())
    await timed(res, "rename", rename())


async def server_a(a: argparse.Namespace, ws: Path, lines: Lines, meta: dict[str, Any], tmp: Path, res: dict[str, Any]) -> None:
    """Pull client: disk diagnostics, open, features, edits, references, rename."""
    run = Run("A", a, ws, tmp)
    first = res.setdefault("first_diagnostics", {})
    rng = random.Random(a.seed)
    try:
        res["server_a"] = await run.start(pull=True)
        c = run.client
        assert c is not None
        rss = res.setdefault("rss_by_phase_mib", {})

        def phase(name: str) -> None:
            try:
                rss[name] = proc_memory(c.pid)
            except OSError:
                pass

        async def disk() -> None:
            report, _ = await run.pull(a.timeout)
            first["pull_disk_s"] = round(time.perf_counter() - run.t_initialized, 3)
            first["pull_disk_items"] = len(report.get("items", ()))
            res["_cutoff"] = cutoff_line(report.get("items", []))

        await timed(first, "pull_disk_error", disk())
        if c.closed:
            return

        async def indexed() -> None:
            _, arrived, _ = await c.wait_note(lambda m, p: m == "$/progress" and (p.get("value") or {}).get("kind") == "end", 0, a.timeout)
            first["index_done_s"] = round(arrived - run.t_initialized, 3)

        await timed(first, "index_error", indexed())
        phase("after_disk_pull_and_index")
        samples = []
        for _ in range(3):
            try:
                report, secs = await run.pull(a.timeout, previous=True)
                samples.append(secs)
                first["pull_again_kind"] = report.get("kind")
            except Exception as exc:
                first["pull_again_error"] = str(exc)
                break
        if samples:
            first["pull_again_ms"] = round(statistics.median(samples) * 1000, 2)

        async def opened() -> None:
            frame = run.did_open_frame(lines.data)
            t0 = time.perf_counter()
            await c.send(frame)
            report, _ = await run.pull(a.timeout)
            first["pull_open_after_disk_s"] = round(time.perf_counter() - t0, 3)
            first["pull_open_after_disk_items"] = len(report.get("items", ()))

        await timed(first, "pull_open_after_disk_error", opened())
        phase("after_open")
        if c.closed:
            return
        res.update(await features(run, lines, rng, a.features))
        cutoff = res.get("_cutoff")
        targets = lines.pick(rng, max(1, a.edits // 2), below=cutoff)
        phase("after_features")
        res["edit_pull"] = await edits(run, lines, targets, a.edits, push=False, timeout=a.timeout)
        phase("after_edits")
        if targets and res["edit_pull"].get("p50_ms"):
            delay = min(1.0, max(0.02, res["edit_pull"]["p50_ms"] / 1000 / 5))
            check = await timed(res, "edit_during_analysis", edit_during_analysis(run, lines, targets[0], delay, a.timeout))
            if check is not None:
                res["edit_during_analysis"] = check
        await navigation(run, lines, rng, meta["hot_class"], a.timeout, res)
        phase("after_references_rename")
    except Exception as exc:
        res.setdefault("errors", []).append(f"server A: {type(exc).__name__}: {exc}")
    finally:
        res["server_a"] = res.get("server_a", {}) | await run.stop()


async def server_b(a: argparse.Namespace, ws: Path, lines: Lines, tmp: Path, res: dict[str, Any]) -> None:
    """Pull client that opens the manifest at once: time to its first full diagnostics."""
    run = Run("B", a, ws, tmp)
    first = res.setdefault("first_diagnostics", {})
    try:
        res["server_b"] = await run.start(pull=True)
        frame = run.did_open_frame(lines.data)

        async def cold() -> None:
            t0 = time.perf_counter()
            await run.client.send(frame)  # type: ignore[union-attr]
            report, _ = await run.pull(a.timeout)
            first["pull_open_cold_s"] = round(time.perf_counter() - t0, 3)
            first["pull_open_cold_since_initialized_s"] = round(time.perf_counter() - run.t_initialized, 3)
            first["pull_open_cold_items"] = len(report.get("items", ()))

        await timed(first, "pull_open_cold_error", cold())
    except Exception as exc:
        res.setdefault("errors", []).append(f"server B: {type(exc).__name__}: {exc}")
    finally:
        res["server_b"] = res.get("server_b", {}) | await run.stop()


async def server_c(a: argparse.Namespace, ws: Path, lines: Lines, tmp: Path, res: dict[str, Any]) -> None:
    """Push-only client: first pushed diagnostics of the unopened manifest, then pushed edits."""
    run = Run("C", a, ws, tmp)
    first = res.setdefault("first_diagnostics", {})
    rng = random.Random(a.seed + 1)
    try:
        res["server_c"] = await run.start(pull=False)
        c = run.client
        assert c is not None

        async def pushed() -> None:
            _, arrived, p = await c.wait_note(lambda m, p: m == "textDocument/publishDiagnostics" and p["uri"] == run.uri
                                              and p["diagnostics"], 0, a.timeout)
            first["push_disk_s"] = round(arrived - run.t_initialized, 3)
            first["push_disk_items"] = len(p["diagnostics"])
            res["_cutoff_push"] = cutoff_line(p["diagnostics"])

        await timed(first, "push_disk_error", pushed())
        if c.closed or "push_disk_s" not in first:
            return

        async def opened() -> None:
            await c.send(run.did_open_frame(lines.data))
            # a barrier: the answer comes once the opened buffer is analysed (pushes only follow changes)
            await run.pull(a.timeout)
            await asyncio.sleep(0.5)

        await timed(res, "edit_push", opened())
        if "edit_push" in res:
            return
        targets = lines.pick(rng, max(1, a.edits // 2), below=res.get("_cutoff_push"))
        res["edit_push"] = await edits(run, lines, targets, a.edits, push=True, timeout=a.timeout)
    except Exception as exc:
        res.setdefault("errors", []).append(f"server C: {type(exc).__name__}: {exc}")
    finally:
        res["server_c"] = res.get("server_c", {}) | await run.stop()


async def measure(rows: int, a: argparse.Namespace) -> dict[str, Any]:
    """All measurements for one size; errors are recorded, never raised."""
    res: dict[str, Any] = {"rows": rows}
    try:
        ws, meta, gen_s = workspace(rows, a.seed, a.hot_uses, a.data_dir)
    except Exception as exc:
        return res | {"errors": [f"generating the workspace failed: {type(exc).__name__}: {exc}"]}
    if gen_s:
        print(f"generated {rows} rows in {gen_s:.1f} s", file=sys.stderr)
    res |= {"workspace": str(ws), "manifest_mib": meta["manifest_mib"], "lines": meta["rows"],
            "hot_class": meta["hot_class"], "hot_uses": meta["hot_uses"], "generate_s": round(gen_s, 2)}
    lines = Lines(ws, meta["hot_class"])
    with tempfile.TemporaryDirectory() as tmp:
        for name, step in (("A", lambda: server_a(a, ws, lines, meta, Path(tmp), res)),
                           ("B", lambda: server_b(a, ws, lines, Path(tmp), res)),
                           ("C", lambda: server_c(a, ws, lines, Path(tmp), res))):
            if name in a.servers:
                print(f"{rows} rows: server {name}", file=sys.stderr)
                await step()
    rss = [res[s]["vmhwm_mib"] for s in ("server_a", "server_b", "server_c") if "vmhwm_mib" in res.get(s, {})]
    res["rss_mib"] = max(rss) if rss else None
    cutoff = res.pop("_cutoff", None)
    res.pop("_cutoff_push", None)
    res["diagnostics_cutoff_line"] = None if cutoff is None else cutoff + 1  # last line shown under the cap (1-based)
    return res


def lookup(res: dict[str, Any], dotted: str) -> Any:
    cur: Any = res
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def judge(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pass/fail per target and size: False when the measurement failed."""
    out = []
    for r in results:
        for t in TARGETS:
            value = lookup(r, t["metric"])
            entry = t | {"rows": r["rows"], "value": value, "pass": value is not None and value <= t["limit"]}
            if t["name"] == "references-hot-class":
                entry["uses"] = r.get("hot_uses")
            out.append(entry)
    return out


def table(results: list[dict[str, Any]], targets: list[dict[str, Any]]) -> str:
    """A short human-readable summary."""
    def num(v: Any, fmt: str = "{:.3g}") -> str:
        return "-" if v is None else fmt.format(v)

    out = []
    for r in results:
        f = r.get("first_diagnostics", {})
        out.append(f"{r['rows']} rows ({r.get('manifest_mib', '?')} MiB, class {r.get('hot_class')!r} used {r.get('hot_uses')} times)")
        out.append(f"  first diagnostics s: pull from disk {num(f.get('pull_disk_s'))}, index done {num(f.get('index_done_s'))}, "
                   f"open cold {num(f.get('pull_open_cold_s'))}, open after disk {num(f.get('pull_open_after_disk_s'))}, "
                   f"push from disk {num(f.get('push_disk_s'))}; warm pull {num(f.get('pull_again_ms'))} ms")
        for key in ("edit_pull", "edit_push", "hover", "definition", "completion"):
            m = r.get(key, {})
            out.append(f"  {key:11} p50 {num(m.get('p50_ms')):>8} ms  p95 {num(m.get('p95_ms')):>8} ms  max {num(m.get('max_ms')):>8} ms"
                       f"  ok {m.get('ok', 0)}/{m.get('n', 0)}" + (f"  error: {m['error']}" if "error" in m else ""))
        for key in ("references", "rename"):
            m = r.get(key, {})
            count = m.get("locations", m.get("text_edits"))
            out.append(f"  {key:11} {num(m.get('s'))} s, {count} items, {m.get('response_mib')} MiB"
                       + (f"  error: {m['error']}" if "error" in m else ""))
        m = r.get("edit_during_analysis")
        if m:
            out.append(f"  edit sent during an analysis shown by a later pull: {m.get('pass', m.get('error'))}")
        out.append("  peak RSS MiB: " + ", ".join(f"{s[-1].upper()} {r.get(s, {}).get('vmhwm_mib', '-')}" for s in ("server_a", "server_b", "server_c")))
        for e in r.get("errors", []):
            out.append(f"  error: {e}")
    for t in targets:
        mark = "PASS" if t["pass"] else "FAIL"
        out.append(f"target {t['name']} @ {t['rows']}: {t['metric']} {t['value']} <= {t['limit']}: {mark}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", default="100000,1000000", help="comma-separated sizes (100k, 1m accepted)")
    ap.add_argument("--quick", action="store_true", help="10k rows only (a check that the harness works)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "lsp.json")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hot-uses", type=int, default=100_000, help="rows relabelled to one class (at most half the rows)")
    ap.add_argument("--edits", type=int, default=20, help="one-character edits per server (half break a label, half fix it)")
    ap.add_argument("--features", type=int, default=30, help="hover / definition / completion requests each")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds for anything that waits for an analysis")
    ap.add_argument("--request-timeout", type=float, default=30.0, help="seconds for initialize, shutdown, hover, definition, completion")
    ap.add_argument("--servers", default="ABC", help="which server runs to do (A: pull, B: open at start, C: push)")
    ap.add_argument("--data-dir", type=Path, default=HERE / ".data")
    a = ap.parse_args(argv)
    sizes = [10_000] if a.quick else [generate.parse_rows(s) for s in a.rows.split(",") if s.strip()]
    bytecode = compile_bytecode()
    fresh_before = fresh_memory()
    try:
        results = [asyncio.run(measure(rows, a)) for rows in sizes]
    finally:
        kill_leftovers()
    targets = judge(results)
    report = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": machine(), "bytecode": bytecode,
              "fresh_memory_s_per_gib": {"before": fresh_before, "after": fresh_memory()},
              "command": "python -m labelsense serve (stdio)", "seed": a.seed, "edits": a.edits, "features": a.features,
              "hot_uses_requested": a.hot_uses, "runs": results, "targets": targets}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(results, targets))
    print(f"results: {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
