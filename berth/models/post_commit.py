"""Work that must wait for a commit the caller does not own.

An audited mutation runs the domain's whole change inside one outer transaction (so its
audit entry commits with it). The domain's own "after my commit" wake-ups — the lifecycle's
commit listeners, the notification senders — would then run before the real commit (or, as
the lifecycle does inside any transaction, not at all). While an outer owner collects, such
calls are queued here instead and run once, in order and without repeats, after its commit;
a rolled-back owner drops them.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from contextvars import ContextVar, Token
from typing import Any

Call = tuple[Callable[..., Awaitable[None] | None], tuple[Any, ...]]

_pending: ContextVar[list[Call] | None] = ContextVar("berth_post_commit", default=None)


def defer(function: Callable[..., Awaitable[None] | None], *args: Any) -> bool:
    """Queue `function(*args)` for after the owner's commit; False when nobody collects."""
    pending = _pending.get()
    if pending is None:
        return False
    call: Call = (function, args)
    if call not in pending:
        pending.append(call)
    return True


def start() -> Token[list[Call] | None]:
    return _pending.set([])


def stop(token: Token[list[Call] | None]) -> list[Call]:
    """Stop collecting; the calls collected since `start`."""
    calls = _pending.get() or []
    _pending.reset(token)
    return calls


async def run(calls: list[Call]) -> None:
    for function, args in calls:
        result = function(*args)
        if inspect.isawaitable(result):
            await result
