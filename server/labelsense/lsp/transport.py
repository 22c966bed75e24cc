"""The stdio read loop: pygls' own, except for how a message body becomes objects.

pygls parses each body with the standard `json` module, which first decodes the
bytes into a second string: for a 190 MB didOpen that is 190 MB more at the
moment memory is highest. Here orjson parses the bytes directly, and the body
is let go of before the message is handled. A body orjson refuses (NaN, lone
surrogates) is parsed the standard way, so what is accepted does not change.

A pipe on stdin is widened to the largest size the system allows: a big message
then arrives in 1 MB reads instead of 64 kB ones, and each read waits for the
interpreter lock once, which an analysis thread holds most of the time. A large
message is received in its turn with large manifest reads (core/turns.py).
"""
from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import re
import stat
import threading
from typing import Any, Callable

import orjson
from pygls.exceptions import JsonRpcException
from pygls.io_ import StdinAsyncReader
from pygls.protocol import JsonRPCProtocol

from ..core import turns

log = logging.getLogger("labelsense")
TURN_WAIT = 30.0  # seconds a large message waits for a manifest read at most (one stuck on a pipe, say)
CONTENT_LENGTH = re.compile(rb"^Content-Length: (\d+)\r\n$")


def widen_pipe(fd: int) -> None:
    """Make the pipe on `fd` as large as the system allows (Linux); anything else is left alone."""
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode) or not hasattr(fcntl, "F_SETPIPE_SZ"):
            return
        with open("/proc/sys/fs/pipe-max-size") as f:
            size = int(f.read())
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, size)
    except (OSError, ValueError) as exc:  # an unprivileged limit, no /proc: the default size works
        log.debug("stdin pipe not widened: %r", exc)


def parse(body: bytes, protocol: JsonRPCProtocol) -> Any:
    """A message body as pygls' message objects."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body, object_hook=protocol.structure_message)
    return protocol.structure_message(data) if isinstance(data, dict) else data


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
            # a large message waits while a large manifest is read (turns.py), then is read, parsed and handled
            taken = length >= turns.LARGE and await asyncio.get_running_loop().run_in_executor(None, turns.TURNS.take, length, TURN_WAIT)
            try:
                body = await reader.readexactly(length)
                length = 0
                if not body:
                    break
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
