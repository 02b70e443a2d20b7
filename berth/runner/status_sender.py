"""Sends the commit-status outbox to the providers: an asyncio task beside the runner.

It never holds up a deployment: the runner only writes rows (in its own transactions), and
this task reads them on its own schedule, with short HTTP timeouts. Woken by this
process's lifecycle commits and by a poll every `status_poll_seconds` (for rows another
process wrote), it claims due rows (`berth.domain.commit_status_outbox`), POSTs them, and
records the answer: 2xx sent; 400/401/404/410/422 abandoned at once (the provider refused
the request itself: a wrong token, repository or URL does not fix itself); anything else —
other answers, timeouts, unreachable hosts — retried with exponential backoff until
`status_max_attempts`, then abandoned. `last_error` says why, never with the token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

import httpx

from berth.domain.commit_status_outbox import (
    Claimed,
    NotSendable,
    Prepared,
    Round,
    claim_due,
    mark_failed,
    mark_sent,
    prepare,
    retry_delay,
    scrub,
)
from berth.metrics import COMMIT_STATUS_REQUESTS
from berth.models.lifecycle import now
from berth.runner.outbox_sender import OutboxSender, retry_after_seconds
from berth.settings import Settings

log = logging.getLogger("berth.statuses")

PERMANENT = frozenset({400, 401, 404, 410, 422})
MAX_BODY_QUOTED = 200


class StatusSender(OutboxSender):
    name = "commit statuses"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings.status_poll_seconds, settings.status_timeout_seconds, log)
        self.settings = settings

    async def _claim(self, limit: int) -> Round:
        return await claim_due(self.lease_seconds, limit)

    async def _send(self, claim: Claimed) -> None:
        try:
            await self._attempt(claim)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Unexpected (the database away mid-way, a row gone): counted as a failed attempt,
            # so a status that keeps failing this way is still abandoned in the end.
            log.warning("commit status %s attempt %s: %s", claim.row.id, claim.attempt, type(exc).__name__)
            with contextlib.suppress(Exception):
                await self._failed(claim, f"internal error: {type(exc).__name__}", None, permanent=False)

    async def _attempt(self, claim: Claimed) -> None:
        try:
            prepared = await prepare(claim, self.settings.public_url)
        except NotSendable as problem:
            await mark_failed(claim, str(problem), None)
            COMMIT_STATUS_REQUESTS.labels("abandoned").inc()
            log.warning("commit status %s abandoned: %s", claim.row.id, problem)
            return
        error, retry_after, permanent = await self._post(prepared)
        if error is None:
            await mark_sent(claim)
            COMMIT_STATUS_REQUESTS.labels("delivered").inc()
            log.info("commit status %s (%s) sent for deployment %s", claim.row.id, claim.row.state.value,
                     claim.row.deployment_id)
            return
        await self._failed(claim, scrub(error, prepared.token), retry_after, permanent=permanent)

    async def _failed(self, claim: Claimed, error: str, retry_after: float | None, *, permanent: bool) -> None:
        give_up = permanent or claim.attempt >= self.settings.status_max_attempts
        retry_at = None if give_up else now() + timedelta(seconds=retry_delay(
            claim.attempt, self.settings.status_retry_base_seconds, self.settings.status_retry_max_seconds,
            retry_after))
        await mark_failed(claim, f"attempt {claim.attempt}: {error}", retry_at)
        COMMIT_STATUS_REQUESTS.labels("abandoned" if give_up else "retry").inc()
        log.warning("commit status %s attempt %s failed%s: %s", claim.row.id, claim.attempt,
                    " (abandoned)" if give_up else "", error)

    async def _post(self, prepared: Prepared) -> tuple[str | None, float | None, bool]:
        """(error or None, Retry-After seconds, whether retrying is pointless)."""
        request = prepared.request
        try:
            response = await self.client.post(request.url, json=request.body, headers=request.headers)
        except httpx.HTTPError as exc:
            # The message names the URL at most; the token travels in a header only.
            return f"{type(exc).__name__}: {exc}"[:MAX_BODY_QUOTED * 2], None, False
        if 200 <= response.status_code < 300:
            return None, None, False
        quoted = " ".join(response.text.split())[:MAX_BODY_QUOTED]
        return (f"HTTP {response.status_code}" + (f": {quoted}" if quoted else ""),
                retry_after_seconds(response), response.status_code in PERMANENT)
