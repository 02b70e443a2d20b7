"""Ctrl-C while following a deployment: an asyncio event instead of KeyboardInterrupt,
and a yes/no question that a second Ctrl-C answers "no"."""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from types import TracebackType
from typing import Any


class Interrupts:
    """While entered, SIGINT sets an event the follower waits on."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def __enter__(self) -> Interrupts:
        self._loop = asyncio.get_running_loop()
        self._loop.add_signal_handler(signal.SIGINT, self.event.set)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._loop is not None:
            self._loop.remove_signal_handler(signal.SIGINT)

    async def wait(self) -> None:
        await self.event.wait()
        self.event.clear()


async def ask_yes_no(question: str, interrupts: Interrupts) -> bool:
    """Ask on stderr, read the answer from stdin; another Ctrl-C (or end of input) means no."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str] = loop.create_future()

    def settle(text: str) -> None:
        if not answer.done():
            answer.set_result(text)

    def read() -> None:
        try:
            text = sys.stdin.readline()
        except (OSError, ValueError):
            text = ""
        try:
            loop.call_soon_threadsafe(settle, text)
        except RuntimeError:
            pass  # the command ended while the question was open

    sys.stderr.write(question)
    sys.stderr.flush()
    interrupts.event.clear()
    # A daemon thread: a blocked readline() must never keep the process alive.
    threading.Thread(target=read, name="berth-prompt", daemon=True).start()
    again = asyncio.ensure_future(interrupts.wait())
    pending: list[asyncio.Future[Any]] = [answer, again]
    try:
        await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    finally:
        again.cancel()
    if not answer.done():
        sys.stderr.write("\n")
        return False
    return answer.result().strip().lower() in ("y", "yes")
