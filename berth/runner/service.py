"""Background services of a Berth process, started and stopped by the app's lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from berth.events.broker import on_commit
from berth.models.lifecycle import add_commit_listener, remove_commit_listener
from berth.settings import Settings


@contextlib.asynccontextmanager
async def local_wakeups(settings: Settings) -> AsyncIterator[None]:
    """Changes committed by this process wake this process's subscribers."""
    add_commit_listener(on_commit)
    try:
        yield
    finally:
        remove_commit_listener(on_commit)


def background_services(settings: Settings, runner: bool = True) -> list[Any]:
    return [local_wakeups]
