"""The loop every outbox sender shares: an asyncio task beside the runner.

It never holds up a deployment: the lifecycle only writes rows (in its own transactions),
and this task reads them on its own schedule. Woken by this process's commits and by a poll
(for rows another process wrote), it runs `_round()` (claim due rows, send them, record the
answers) until nothing was claimed, then waits for the next wake-up, the poll, or the
earliest retry falling due, whichever comes first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import httpx

from berth.domain.outbox import Round
from berth.models.lifecycle import add_commit_listener, now, remove_commit_listener

# Longer than one attempt of either sender (their timeouts: 10 s and 5 s by default) takes.
STOP_SECONDS = 15.0


class OutboxSender:
    name = "outbox"

    def __init__(self, poll_seconds: float, timeout_seconds: float, log: logging.Logger) -> None:
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        self.log = log
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        assert self._client is not None, "the sender is not started"
        return self._client

    @property
    def lease_seconds(self) -> float:
        # Longer than a request can take, so a claim in flight is not taken twice.
        return 2 * self.timeout_seconds + 5

    def wake(self) -> None:
        self._wake.set()

    def _on_commit(self, deployment_id: int, event_seq: int | None, log_seq: int | None) -> None:
        if event_seq is not None:
            self._wake.set()

    async def start(self) -> None:
        self._stopping = False
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout_seconds), follow_redirects=False)
        add_commit_listener(self._on_commit)
        self._task = asyncio.create_task(self._loop(), name=f"berth-{self.name}-sender")

    async def stop(self) -> None:
        remove_commit_listener(self._on_commit)
        if self._task is not None:
            # The round in flight records its answers before the loop ends: cut off, a message
            # the receiver took would still be pending and go again after a restart. Only a
            # round outlasting STOP_SECONDS is cancelled (wait_for cancels it).
            self._stopping = True
            self._wake.set()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, STOP_SECONDS)
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _loop(self) -> None:
        while not self._stopping:
            # Cleared before looking, so a commit made while we look wakes the next wait.
            self._wake.clear()
            pause = self.poll_seconds
            try:
                round_ = await self._round()
                if round_.claimed:
                    continue  # a settled row may have let the next one of its group go
                if round_.next_due is not None:
                    # A retry due before the next poll is tried on time.
                    pause = max(0.0, min(pause, (round_.next_due - now()).total_seconds()))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database away for a moment: try again at the next poll
                self.log.warning("%s: round failed: %s", self.name, type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause)

    async def run_once(self) -> bool:
        """Claim and send one batch; whether anything was claimed."""
        return bool((await self._round()).claimed)

    async def _round(self) -> Round[Any]:
        raise NotImplementedError


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Retry-After in seconds (Discord sends fractions); an HTTP date is ignored."""
    raw = response.headers.get("retry-after", "").strip()
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if 0 <= value < 86_400 else None
