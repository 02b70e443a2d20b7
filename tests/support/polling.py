"""Waiting for a condition with a deadline, instead of sleeping: one sync and one async poll.

Both call `check` until it returns something truthy and return that value. An exception
from `check` counts as "not yet" (a service still starting up); at the deadline the
failure names `what` and the last value or exception seen, so a timeout says why.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

INTERVAL = 0.1


def _timed_out(timeout: float, what: str, last: object, error: Exception | None) -> AssertionError:
    seen = f"last error: {error!r}" if error is not None else f"last value: {last!r}"
    return AssertionError(f"timed out after {timeout}s waiting for {what}; {seen}")


def wait_until(check: Callable[[], T], timeout: float, what: str, interval: float = INTERVAL) -> T:
    """Call `check` until it returns a truthy value (returned); fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: object = None
    error: Exception | None = None
    while True:
        try:
            result = check()
            if result:
                return result
            last, error = result, None
        except Exception as exc:
            error = exc
        if time.monotonic() >= deadline:
            raise _timed_out(timeout, what, last, error)
        time.sleep(interval)


async def poll(
    check: Callable[[], T | Awaitable[T]], timeout: float, what: str, interval: float = INTERVAL
) -> T:
    """`wait_until` in an event loop: `check` may be sync or async."""
    deadline = time.monotonic() + timeout
    last: object = None
    error: Exception | None = None
    while True:
        try:
            result: Any = check()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result  # type: ignore[no-any-return]
            last, error = result, None
        except Exception as exc:
            error = exc
        if time.monotonic() >= deadline:
            raise _timed_out(timeout, what, last, error)
        await asyncio.sleep(interval)
