"""Async work against a test database from sync code (module fixtures, helpers of sync tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE

from berth.db import tortoise_config
from berth.settings import reset_settings

T = TypeVar("T")


def run_with_orm(database_url: str, action: Callable[[], Awaitable[T]], env: dict[str, str] | None = None) -> T:
    """Open `database_url` with Tortoise in a fresh event loop, run `action`, close again.
    `env` is set for the duration (settings such as the secret key the action needs)."""

    async def with_orm() -> T:
        # Tortoise caches INSERT SQL per connection name: another database under "default"
        # must not reuse the previous one's statements.
        EXECUTOR_CACHE.clear()
        await Tortoise.init(config=tortoise_config(database_url))
        try:
            return await action()
        finally:
            await Tortoise.close_connections()

    with pytest.MonkeyPatch.context() as patch:
        for key, value in (env or {}).items():
            patch.setenv(key, value)
        reset_settings()
        try:
            return asyncio.run(with_orm())
        finally:
            reset_settings()
