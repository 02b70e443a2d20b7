"""In-process fan-out of wake-ups. The database stays the source of truth: a wake-up only
says "deployment N has something newer than seq S"; subscribers read it from the database,
so a missed or coalesced wake-up never loses an item."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

ALL = 0  # key for subscribers of every deployment (the feed)


class Broker:
    def __init__(self) -> None:
        self._waiters: dict[int, set[asyncio.Event]] = defaultdict(set)

    def wake(self, deployment_id: int) -> None:
        for key in (deployment_id, ALL):
            for event in self._waiters.get(key, ()):
                event.set()

    @contextmanager
    def watch(self, deployment_id: int = ALL) -> Iterator[asyncio.Event]:
        """An event set whenever the deployment (or, with ALL, any) changes; register
        before reading the database so nothing committed in between is missed."""
        event = asyncio.Event()
        self._waiters[deployment_id].add(event)
        try:
            yield event
        finally:
            waiters = self._waiters.get(deployment_id)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiters[deployment_id]


broker = Broker()


def on_commit(deployment_id: int, event_seq: int | None, log_seq: int | None) -> None:
    """Lifecycle commit listener: wake local subscribers."""
    broker.wake(deployment_id)
