"""The stdio read loop: pygls' own, except for how a message body becomes objects.

pygls parses each body with the standard `json` module, which first decodes the
bytes into a second string: for a 190 MB didOpen that is 190 MB more at the
moment memory is highest. Here orjson parses the bytes directly, and the body
is let go of before the message is handled. A body orjson refuses (NaN, lone
surrogates) is parsed the standard way, so what is accepted does not change.

A pipe on stdin is widened to the largest size the system allows: a big message
then arrives in 1 MB reads instead of 64 kB ones, and each read waits for the
interpreter lock once, which an analysis thread holds most of the time. A large
message is parsed and handled in its turn with large manifest reads (core/turns.py).
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import stat
import threading
from typing import Any, Callable

try:
    import fcntl
except ImportError:  # not a POSIX system: pipes keep their size
    fcntl = None  # type: ignore[assignment]

import orjson
from pygls.exceptions import JsonRpcException
from pygls.io_ import StdinAsyncReader
from pygls.protocol import JsonRPCProtocol

from ..core import turns

log = logging.getLogger("labelsense")
TURN_WAIT = 30.0  # seconds a large message waits for a manifest read at most (one stuck on a pipe, say)
CONTENT_LENGTH = re.compile(rb"^Content-Length: (\d+)\r\n$")


def widen_pipe(stream: Any) -> None:
    """Make the pipe on `stream` as large as the system allows (Linux), never smaller;
    anything else (a file, a socket, no descriptor) is left alone."""
    try:
        fd = stream.fileno()
        if fcntl is None or not hasattr(fcntl, "F_SETPIPE_SZ") or not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return
        with open("/proc/sys/fs/pipe-max-size") as f:
            size = int(f.read())
        if fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ) < size:
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, size)
    except (OSError, ValueError) as exc:  # an unprivileged limit, no /proc, no descriptor: the default size works
        log.debug("stdin pipe not widened: %r", exc)


def parse(body: bytes, protocol: JsonRPCProtocol) -> Any:
    """A message body as pygls' message objects."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body, object_hook=protocol.structure_message)
    return protocol.structure_message(data) if isinstance(data, dict) else data


async def _take_turn(reader: StdinAsyncReader, size: int) -> bool:
    """Wait for a large step's turn on the reader's own thread (never on a pool an analysis
    waiting for the same turn may fill); a turn taken after this read was cancelled is given back."""
    pending = reader.executor.submit(turns.TURNS.take, size, TURN_WAIT)
    try:
        return await asyncio.wrap_future(pending)
    except asyncio.CancelledError:
        pending.add_done_callback(lambda done: done.cancelled() or done.exception() is not None or not done.result() or turns.TURNS.give_back())
        raise


async def read_messages(stop: threading.Event, reader: StdinAsyncReader, protocol: JsonRPCProtocol,
                        on_error: Callable[[Exception, type[JsonRpcException]], Any]) -> None:
    """Read Content-Length framed messages until the stream ends or `stop` is set."""
    length = 0
    while not stop.is_set():
        header = await reader.readline()
        if not header:
            break
        if not length and (match := CONTENT_LENGTH.fullmatch(header)):
            length = int(match.group(1))
        if length and not header.strip():
            body = await reader.readexactly(length)
            length = 0
            if not body:
                break
            # a large message is parsed and handled in its turn with large manifest reads (turns.py):
            # its text and lines are the bulk of its memory; its body is read at once (waiting to read
            # it would keep the client writing, on cores an analysis keeps busy)
            taken = len(body) >= turns.LARGE and await _take_turn(reader, len(body))
            try:
                message = parse(body, protocol)
                del body
                protocol.handle_message(message)
            except Exception as exc:  # noqa: BLE001 - as pygls: report it, keep reading
                log.exception("Unable to handle message")
                on_error(exc, JsonRpcException)
            finally:
                if taken:
                    turns.TURNS.give_back()
