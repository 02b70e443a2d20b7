"""Reading a container's log from the engine API, and knowing how far we got.

We ask the daemon for timestamps on every message. They let a reader that stopped
following (the deployment concluded) ask once more, without following, for whatever
the daemon had logged but not yet sent, and skip what it already delivered: `since`
returns messages at or after a moment, so the lines already seen at exactly that
moment are counted and skipped.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator

import docker
import requests

from berth.runner.docker_api import STDERR, STDOUT, OnLine, docker_time_ns
from berth.runner.process import LineSplitter

_NS = 1_000_000_000


def split_stamp(message: bytes) -> tuple[int | None, bytes]:
    """`b"<timestamp> text"` -> (nanoseconds since the epoch, b"text"); (None, message)
    when the message does not start with a timestamp."""
    head, space, rest = message.partition(b" ")
    stamp = docker_time_ns(head.decode("ascii", errors="replace")) if space and len(head) <= 40 else None
    if stamp is None:
        return None, message
    return stamp, rest


def since_param(stamp: int) -> str:
    """The engine's `since` for logs: seconds.nanoseconds."""
    return f"{stamp // _NS}.{stamp % _NS:09d}"


def log_messages(api: docker.APIClient, response: requests.Response,
                 tty: bool) -> Iterator[tuple[str, bytes]]:
    """(stream, payload) pieces of a logs response. Without a TTY the daemon multiplexes
    stdout and stderr in frames of an 8-byte header (stream type, size) and the payload,
    one frame per log message; with a TTY it is one plain stream."""
    if tty:
        for chunk in api._stream_helper(response, decode=False):
            yield STDOUT, chunk
        return
    raw = response.raw
    while True:
        header = raw.read(8)
        if not header or len(header) < 8:
            return
        stream_type, size = struct.unpack(">BxxxL", header)
        payload = raw.read(size) if size else b""
        if size and not payload:
            return
        yield (STDERR if stream_type == 2 else STDOUT), payload


def read_lines(messages: Iterator[tuple[str, bytes]], *, tty: bool,
               emit: Callable[[str, str, int | None], None], closed: Callable[[], bool]) -> None:
    """Split timestamped messages into lines and `emit(stream, text, stamp)` each.

    A line longer than the daemon's 16 KiB message size arrives in several messages;
    it carries the timestamp of the message that ends it.
    """
    splitters = {STDOUT: LineSplitter(), STDERR: LineSplitter()}
    if tty:
        # One byte stream: timestamps start lines, not messages.
        tty_splitter = splitters[STDOUT]
        for _, data in messages:
            if closed():
                return
            for raw in tty_splitter.feed_raw(data):
                _emit_stamped_line(raw, emit)
        for raw in tty_splitter.flush_raw():
            _emit_stamped_line(raw, emit)
        return
    last_stamp: dict[str, int | None] = {STDOUT: None, STDERR: None}
    for stream, message in messages:
        if closed():
            return
        stamp, data = split_stamp(message)
        last_stamp[stream] = stamp
        for line in splitters[stream].feed(data):
            emit(stream, line, stamp)
    for stream, splitter in splitters.items():
        for line in splitter.flush():
            emit(stream, line, last_stamp[stream])


def _emit_stamped_line(raw: bytes, emit: Callable[[str, str, int | None], None]) -> None:
    stamp, body = split_stamp(raw)
    emit(STDOUT, LineSplitter.decode(body), stamp)


class LogCursor:
    """How far a container's log was delivered: the last timestamp and how many lines
    carried it. `deliver` passes lines on and advances; `deliver_unseen` (for a second
    read from `since`) drops what `deliver` already passed on."""

    def __init__(self, on_line: OnLine) -> None:
        self._on_line = on_line
        self.stamp: int | None = None
        self._at_stamp = 0
        self._skip_stamp: int | None = None
        self._skip_left = 0

    def deliver(self, stream: str, text: str, stamp: int | None) -> None:
        if stamp is not None:
            if stamp == self.stamp:
                self._at_stamp += 1
            else:
                self.stamp, self._at_stamp = stamp, 1
        self._on_line(stream, text)

    def resume(self) -> str | None:
        """Start a re-read: the `since` to ask for (None: from the start)."""
        self._skip_stamp, self._skip_left = self.stamp, self._at_stamp
        return None if self.stamp is None else since_param(self.stamp)

    def deliver_unseen(self, stream: str, text: str, stamp: int | None) -> None:
        if stamp is None:
            return  # cannot tell whether it was seen; the follow read passed such lines on
        if self._skip_stamp is not None:
            if stamp < self._skip_stamp:
                return
            if stamp == self._skip_stamp and self._skip_left > 0:
                self._skip_left -= 1
                return
        self.deliver(stream, text, stamp)
