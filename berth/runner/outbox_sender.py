"""The loop every outbox sender shares: an asyncio task beside the runner.

It never holds up a deployment: the lifecycle only writes rows (in its own transactions),
and this task reads them on its own schedule. Woken by this process's commits and by a poll
(for rows another process wrote), it claims due rows and sends each in a task of its own
(recording the answer), claiming again until nothing more is due, then waits for the next
wake-up, the poll, the earliest retry falling due, or a send finishing, whichever comes
first. A send does not hold up the others: a receiver that hangs until the timeout delays
only its own group (a deployment on a channel, a commit), never the rest of the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import httpx

from berth.domain.outbox import Claimed, Round
from berth.models.lifecycle import add_commit_listener, now, remove_commit_listener

# Longer than one attempt of either sender (their timeouts: 10 s and 5 s by default) takes.
STOP_SECONDS = 15.0
# Sends in flight at once per sender.
IN_FLIGHT = 20


class OutboxSender:
    name = "outbox"

    def __init__(self, poll_seconds: float, timeout_seconds: float, log: logging.Logger) -> None:
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        self.log = log
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
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
        if self._in_flight:
            _done, late = await asyncio.wait(set(self._in_flight), timeout=STOP_SECONDS)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _loop(self) -> None:
        while not self._stopping:
            # Cleared before looking, so a commit made while we look wakes the next wait.
            self._wake.clear()
            pause = self.poll_seconds
            try:
                room = IN_FLIGHT - len(self._in_flight)
                if room <= 0:  # a finishing send wakes the loop
                    await self._wake.wait()
                    continue
                round_ = await self._claim(room)
                for claim in round_.claimed:
                    self._launch(claim)
                if round_.claimed:
                    continue  # more may be due than one claim took
                if round_.next_due is not None:
                    # A retry due before the next poll is tried on time.
                    pause = max(0.0, min(pause, (round_.next_due - now()).total_seconds()))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database away for a moment: try again at the next poll
                self.log.warning("%s: round failed: %s", self.name, type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause)

    def _launch(self, claim: Claimed[Any]) -> None:
        task = asyncio.create_task(self._send(claim), name=f"berth-{self.name}-send")
        self._in_flight.add(task)
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        # A settled row may let the next one of its group go.
        self._wake.set()

    async def run_once(self) -> bool:
        """Claim one batch and send it to the end; whether anything was claimed."""
        round_ = await self._claim(IN_FLIGHT)
        await asyncio.gather(*(self._send(claim) for claim in round_.claimed))
        return bool(round_.claimed)

    async def _claim(self, limit: int) -> Round[Any]:
        """Claim up to `limit` due rows."""
        raise NotImplementedError

    async def _send(self, claim: Claimed[Any]) -> None:
        """Send one claimed row and record its answer; never raises but for cancellation."""
        raise NotImplementedError


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Retry-After in seconds (Discord sends fractions); an HTTP date is ignored."""
    raw = response.headers.get("retry-after", "").strip()
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if 0 <= value < 86_400 else None
