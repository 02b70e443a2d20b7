"""What a stream received, with a way to wait for a condition on it (with a deadline)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

TIMEOUT = 30.0


class Collector:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.completed = False
        self.closed: tuple[int | None, str] | None = None
        self._changed = asyncio.Event()

    def add(self, item: dict[str, Any]) -> None:
        self.items.append(item)
        self._changed.set()

    def fail(self, errors: list[dict[str, Any]]) -> None:
        self.errors.extend(errors)
        self._changed.set()

    def complete(self) -> None:
        self.completed = True
        self._changed.set()

    def finish(self, closed: tuple[int | None, str] | None = None) -> None:
        self.closed = closed
        self._changed.set()

    @property
    def done(self) -> bool:
        return self.completed or bool(self.errors) or self.closed is not None

    async def wait(self, predicate: Callable[[Collector], bool], timeout: float = TIMEOUT, what: str = "") -> None:
        try:
            async with asyncio.timeout(timeout):
                while not predicate(self):
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what or predicate}: "
                f"{len(self.items)} items, errors={self.errors}, completed={self.completed}, closed={self.closed}"
            ) from None

    async def wait_count(self, count: int, timeout: float = TIMEOUT) -> None:
        await self.wait(lambda c: len(c.items) >= count or c.done, timeout, f"{count} items")

    async def wait_done(self, timeout: float = TIMEOUT) -> None:
        await self.wait(lambda c: c.done, timeout, "the end of the stream")


def seqs(collector: Collector) -> list[int]:
    return [item["seq"] for item in collector.items]
