"""Streaming docker-py calls that can be stopped from the event loop.

docker-py's streaming calls (pull, build, logs) block a worker thread in a socket read
and their generators cannot be interrupted from another thread. So we get hold of the
HTTP response itself and, on cancel, shut its socket down from the event loop: the
blocked read sees EOF and the thread ends; the daemon sees the connection drop.

Lines found by the worker reach the loop in batches the loop fetches (see `StreamHandle`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import requests

from berth.runner.docker_api import Canceled, OnLine, StepTimeout

T = TypeVar("T")

# How long after a cancel we wait for the worker thread to notice before reporting.
STOP_WAIT_SECONDS = 2.0
# How often the loop fetches the lines a worker found, while its stream lasts.
POLL_SECONDS = 0.02

StampedSink = Callable[[str, str, int | None], None]
"""`sink(stream, text, stamp)`: a line with the daemon's timestamp (ns), when it gave one."""


_capture = threading.local()


def capture_hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """requests response hook: hands the response to whoever is capturing in this thread.

    docker-py's pull/build return generators that hide their response; the hook runs
    in the requesting thread as soon as headers arrive, before the body is read.
    """
    sink = getattr(_capture, "sink", None)
    if sink is not None:
        sink(response)


@contextlib.contextmanager
def capturing(sink: Callable[[requests.Response], None]) -> Iterator[None]:
    _capture.sink = sink
    try:
        yield
    finally:
        _capture.sink = None


def shutdown_response(response: requests.Response) -> None:
    """Wake a thread blocked reading `response`: shut the socket down (close() alone
    does not interrupt a blocked recv on Linux), or close the paramiko channel."""
    try:
        fp = response.raw._fp.fp  # http.client's buffered reader over the socket
        raw = getattr(fp, "raw", None)
        sock = getattr(raw, "_sock", None) or getattr(raw, "sock", None)
        if sock is None and hasattr(raw, "shutdown"):
            sock = raw  # TLS: http.client reads the SSLSocket directly
        channel = getattr(fp, "channel", None)
        if sock is not None:
            # The plain-socket method, so an SSLSocket's TLS state is left alone.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        elif channel is not None:
            channel.close()
    except (AttributeError, OSError, ValueError):
        pass


def unstamped(on_line: OnLine) -> StampedSink:
    def sink(stream: str, text: str, stamp: int | None) -> None:
        on_line(stream, text)

    return sink


class StreamHandle:
    """Shared by the worker thread and the loop: the live response and the lines found.

    The worker only appends lines to a list under a lock. Waking the loop for them would
    be a system call, and while the loop thread keeps the GIL busy (GraphQL executions
    for subscribers) every system call in the worker costs it a wait for the GIL: handing
    lines over that way ran at 250 lines/s. So the loop fetches them instead, every
    `POLL_SECONDS` while the stream lasts (one wake-up starts that), and once more when the
    worker has returned (`finish`), so every line is delivered before the outcome is.

    Once `close()` ran (on the loop), no further line is delivered, including lines
    the worker had queued but the loop had not taken yet.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, sink: StampedSink) -> None:
        self._loop = loop
        self._sink = sink
        self._lock = threading.Lock()
        self._responses: list[requests.Response] = []
        self._pending: list[tuple[str, str, int | None]] = []
        self._polling = False  # guarded by the lock: the loop has been woken to fetch lines
        self._timer: asyncio.TimerHandle | None = None  # loop side only
        self._finished = False  # loop side only
        self.closed = False
        self.build_containers: list[str] = []

    @classmethod
    def for_lines(cls, loop: asyncio.AbstractEventLoop, on_line: OnLine) -> StreamHandle:
        return cls(loop, unstamped(on_line))

    def attach(self, response: requests.Response) -> None:
        with self._lock:
            self._responses.append(response)
            closed = self.closed
        if closed:  # canceled while the request was still on its way
            shutdown_response(response)

    def close(self) -> None:
        with self._lock:
            self.closed = True
            responses = list(self._responses)
            self._pending.clear()
        self._stop_polling()
        for response in responses:
            shutdown_response(response)

    def emit(self, stream: str, text: str, stamp: int | None = None) -> None:
        """Called from the worker: queue one line for the loop, unless we are done."""
        self.emit_many([(stream, text, stamp)])

    def emit_many(self, lines: list[tuple[str, str, int | None]]) -> None:
        """Called from the worker: queue lines for the loop, unless we are done."""
        with self._lock:
            if self.closed:
                return
            self._pending += lines
            if self._polling:
                return
            self._polling = True
        self._loop.call_soon_threadsafe(self._poll)

    def _poll(self) -> None:
        self._timer = None
        self.deliver_pending()
        if not self.closed and not self._finished:
            self._timer = self._loop.call_later(POLL_SECONDS, self._poll)

    def deliver_pending(self) -> None:
        """On the loop: hand every line queued so far to the sink."""
        with self._lock:
            lines, self._pending = self._pending, []
        for stream, text, stamp in lines:
            if self.closed:
                return
            self._sink(stream, text, stamp)

    def finish(self) -> None:
        """On the loop, once the worker returned: the last lines, and no more polling."""
        self._finished = True
        self._stop_polling()
        self.deliver_pending()

    def _stop_polling(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def release(self) -> None:
        for response in self._responses:
            with contextlib.suppress(Exception):
                response.close()


async def run_stream(
    handle: StreamHandle,
    work: Callable[[StreamHandle], T],
    *,
    cancel: asyncio.Event | None,
    step_timeout: float | None,
    what: str,
    quiet_cancel: bool = False,
) -> T | None:
    """Run `work(handle)` in a thread until it ends, `cancel` is set or `step_timeout` passes.

    On cancel/timeout the handle is closed (sockets shut down) and Canceled/StepTimeout
    raised; with quiet_cancel (log following) a cancel returns None instead.
    """

    def guarded() -> T:
        try:
            return work(handle)
        finally:
            handle.release()

    task: asyncio.Future[T] = asyncio.ensure_future(asyncio.to_thread(guarded))
    waiters: set[asyncio.Future[Any]] = {task}
    cancel_wait: asyncio.Future[Any] | None = None
    if cancel is not None:
        cancel_wait = asyncio.ensure_future(cancel.wait())
        waiters.add(cancel_wait)
    try:
        done, _ = await asyncio.wait(waiters, timeout=step_timeout, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        handle.close()
        task.add_done_callback(_swallow)
        raise
    finally:
        if cancel_wait is not None:
            cancel_wait.cancel()
    if task in done:
        handle.finish()  # every line before the outcome (an error may refer to them)
        return task.result()

    handle.close()
    # The socket is shut down; give the thread a moment so the connection is really gone
    # (and the daemon has noticed) before the caller moves on.
    await asyncio.wait({task}, timeout=STOP_WAIT_SECONDS)
    task.add_done_callback(_swallow)
    if cancel is not None and cancel.is_set():
        if quiet_cancel:
            return None
        raise Canceled(f"{what} was canceled")
    raise StepTimeout(f"{what} timed out after {step_timeout:g} s", step_timeout or 0.0)


def _swallow(task: asyncio.Future[Any]) -> None:
    """The outcome of a worker we stopped waiting for is of no interest (and not an error)."""
    if not task.cancelled():
        task.exception()
