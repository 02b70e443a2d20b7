"""Sends the notification outbox to its channels: an asyncio task beside the runner, beside
the commit-status sender and sharing its loop (`berth.runner.outbox_sender`).

Each attempt has `notify_timeout_seconds` (5 s). The answer: 2xx delivered; 400, 401, 403,
404 and 410 give up at once (a revoked Slack or Discord URL, a receiver refusing the request
itself: retrying does not fix it); anything else (other answers, timeouts, unreachable hosts)
is retried with exponential backoff (a 429's Retry-After honoured) up to
`notify_max_attempts`, then FAILED. `last_error` says why, never with the URL or the secret.

A process killed mid-attempt leaves its claim to lapse (the lease) and the delivery is tried
again with the same X-Berth-Delivery; a delivered one is never sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

import httpx

from berth.domain.notification_outbox import (
    Claimed,
    Message,
    NotSendable,
    Round,
    claim_due,
    mark_delivered,
    mark_failed,
    prepare,
)
from berth.domain.outbox import retry_delay
from berth.models.lifecycle import now
from berth.models.notification_outbox import add_waker, remove_waker
from berth.runner.outbox_sender import OutboxSender, retry_after_seconds
from berth.settings import Settings

log = logging.getLogger("berth.notifications")

PERMANENT = frozenset({400, 401, 403, 404, 410})
MAX_BODY_QUOTED = 200


class NotificationSender(OutboxSender):
    name = "notifications"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings.notify_poll_seconds, settings.notify_timeout_seconds, log)
        self.settings = settings

    async def start(self) -> None:
        await super().start()
        add_waker(self.wake)

    async def stop(self) -> None:
        remove_waker(self.wake)
        await super().stop()

    async def _claim(self, limit: int) -> Round:
        return await claim_due(self.lease_seconds, limit)

    async def _send(self, claim: Claimed) -> None:
        try:
            await self._attempt(claim)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Unexpected (the database away mid-way): counted as a failed attempt, so a
            # delivery that keeps failing this way still gives up in the end.
            log.warning("notification %s attempt %s: %s", claim.row.delivery_id, claim.attempt, type(exc).__name__)
            with contextlib.suppress(Exception):
                await self._failed(claim, f"internal error: {type(exc).__name__}", None, None, permanent=False)

    async def _attempt(self, claim: Claimed) -> None:
        try:
            message = await prepare(claim, self.settings.public_url)
        except NotSendable as problem:
            await mark_failed(claim, str(problem), None, None)
            log.warning("notification %s given up: %s", claim.row.delivery_id, problem)
            return
        status, error, retry_after = await self._post(message)
        if error is None and status is not None:
            await mark_delivered(claim, status)
            log.info("notification %s (%s) delivered, attempt %s", claim.row.delivery_id, claim.row.event,
                     claim.attempt)
            return
        await self._failed(claim, message.scrub(error or "no answer"), status, retry_after,
                           permanent=status in PERMANENT)

    async def _failed(self, claim: Claimed, error: str, status: int | None, retry_after: float | None, *,
                      permanent: bool) -> None:
        give_up = permanent or claim.attempt >= self.settings.notify_max_attempts
        retry_at = None if give_up else now() + timedelta(seconds=retry_delay(
            claim.attempt, self.settings.notify_retry_base_seconds, self.settings.notify_retry_max_seconds,
            retry_after))
        await mark_failed(claim, f"attempt {claim.attempt}: {error}", status, retry_at)
        log.warning("notification %s attempt %s failed%s: %s", claim.row.delivery_id, claim.attempt,
                    " (given up)" if give_up else "", error)

    async def _post(self, message: Message) -> tuple[int | None, str | None, float | None]:
        """(HTTP status or None, error or None, Retry-After seconds)."""
        try:
            response = await self.client.post(message.url, content=message.body, headers=message.headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:MAX_BODY_QUOTED * 2], None
        if 200 <= response.status_code < 300:
            return response.status_code, None, None
        quoted = " ".join(response.text.split())[:MAX_BODY_QUOTED]
        return (response.status_code, f"HTTP {response.status_code}" + (f": {quoted}" if quoted else ""),
                retry_after_seconds(response))
