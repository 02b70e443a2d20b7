"""An execution time budget: a query still running after it is stopped (its task
cancelled) and answered with `QUERY_TIMEOUT`.

Queries only, over HTTP and over a WebSocket alike. Mutations are not cancelled half-way (a
transaction cancelled mid-flight on SQLite leaves its one connection blocked for every other
request; their work is bounded by the cost limit and their own input checks). Subscriptions
are streams and have no deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

from berth.schema.errors import CodedError

T = TypeVar("T")


def timed_out(seconds: float) -> CodedError:
    return CodedError(
        f"Query stopped: it ran longer than the {seconds:g} s allowed (ask for less).",
        "QUERY_TIMEOUT",
        timeoutSeconds=seconds,
    )


async def within(seconds: float, operation: Awaitable[T]) -> T:
    """`await operation`, cancelled after `seconds`: TimeoutError then."""
    async with asyncio.timeout(seconds):
        return await operation


async def first_within(seconds: float, results: AsyncIterator[Any], on_timeout: Any) -> AsyncIterator[Any]:
    """The results of a stream of one result (a query over a WebSocket), that one
    within `seconds`; `on_timeout` is yielded instead when it takes longer."""
    try:
        async with asyncio.timeout(seconds):
            first = await anext(results, None)
    except TimeoutError:
        await _close(results)
        yield on_timeout
        return
    if first is not None:
        yield first
    async for result in results:
        yield result


async def _close(results: AsyncIterator[Any]) -> None:
    close = getattr(results, "aclose", None)
    if close is not None:
        try:
            await close()
        except Exception:  # noqa: BLE001 - the stream was cancelled mid-way; nothing to keep
            pass
