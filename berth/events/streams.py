"""Replay-then-live streams (CONTRACT §5).

A stream registers with the broker first, then reads everything after the last sent seq
from the database, then passes on what the broker's shared reader offers. A row
committed between the read and the registration's first offer is in the read or in the
inbox; rows are passed on only as `last + 1`, so nothing is sent twice, and a gap (rows
dropped by a full inbox, a reader that started late, wake-ups lost) is read from the
database before going on. So every item arrives exactly once, in seq order.

Credentials are checked at subscribe time (the scope guard and the visibility check)
and again before items go out: a check begun after the items arrived, so a token revoked
or expired meanwhile ends the stream with an error instead of passing them on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import UTC, datetime
from typing import Any

from berth.auth.principal import Principal
from berth.domain.queries import project_visible
from berth.events.broker import COUNTERS, MODELS, READ_BATCH, Inbox, Kind, broker
from berth.metrics import streaming
from berth.models import ApiToken as ApiTokenRow
from berth.models import Deployment as DeploymentRow
from berth.models import DeploymentEvent as EventRow
from berth.models.enums import DeploymentEventType
from berth.models.lifecycle import TERMINAL_STATUSES
from berth.models.sql import fetch_rows


class StreamRefused(Exception):
    """A stream ends with this: `code` and `message` are for the client (the resolver maps them)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _revoked() -> StreamRefused:
    return StreamRefused("The credential was revoked or has expired.", "UNAUTHENTICATED")


class TokenChecks:
    """Whether API tokens are still valid, asked of the database by one query per token
    at a time: subscribers that need a check begun after a moment share one such query."""

    def __init__(self) -> None:
        self._checks: dict[int, tuple[float, asyncio.Task[bool]]] = {}

    async def valid(self, token_id: int, since: float) -> bool:
        loop = asyncio.get_running_loop()
        entry = self._checks.get(token_id)
        if entry is None or entry[0] < since or (entry[1].done() and entry[1].exception() is not None):
            if len(self._checks) > 10_000:
                self._checks = {k: v for k, v in self._checks.items() if not v[1].done()}
            entry = (loop.time(), loop.create_task(self._query(token_id)))
            self._checks[token_id] = entry
        return await asyncio.shield(entry[1])

    def settled(self, token_id: int, since: float) -> bool | None:
        """The answer of a finished check begun at or after `since`, without waiting; None
        when there is none (then `valid` asks)."""
        entry = self._checks.get(token_id)
        if entry is None or entry[0] < since or not entry[1].done() or entry[1].cancelled():
            return None
        if entry[1].exception() is not None:
            return None
        return entry[1].result()

    @staticmethod
    async def _query(token_id: int) -> bool:
        row = await ApiTokenRow.filter(id=token_id).values("revoked_at", "expires_at")
        if not row or row[0]["revoked_at"] is not None:
            return False
        expires_at = row[0]["expires_at"]
        if expires_at is not None:
            if expires_at.tzinfo is None:
                expires_at = expires_at.replace(tzinfo=UTC)
            return bool(expires_at > datetime.now(UTC))
        return True


token_checks = TokenChecks()


def _expired(principal: Principal) -> bool:
    return principal.expires_at is not None and principal.expires_at <= datetime.now(UTC)


async def ensure_still_valid(principal: Principal, since: float | None = None) -> None:
    """Raise StreamRefused (UNAUTHENTICATED) when the credential has expired or was revoked, as seen by a
    check begun at or after `since` (loop time; default: now)."""
    if _expired(principal):
        raise _revoked()
    if principal.token_id is not None:
        moment = asyncio.get_running_loop().time() if since is None else since
        if not await token_checks.valid(principal.token_id, moment):
            raise _revoked()


def known_still_valid(principal: Principal, since: float) -> bool | None:
    """`ensure_still_valid`'s answer when it needs no waiting (no token, or a check of the
    token begun at or after `since` has finished): many subscribers of one result ask at once."""
    if _expired(principal):
        return False
    if principal.token_id is None:
        return True
    return token_checks.settled(principal.token_id, since)


def _is_last(kind: Kind, row: Any) -> bool:
    return kind == "events" and row.type == DeploymentEventType.CONCLUDED


async def follow(pk: int, kind: Kind, after_seq: int | None, principal: Principal) -> AsyncGenerator[Any, None]:
    """The deployment's rows of `kind` with seq > after_seq, replayed then live, each once
    and in order; ends when the deployment has concluded and every row was passed on."""
    async with aclosing(follow_batches(pk, kind, after_seq, principal, READ_BATCH)) as batches:
        async for batch in batches:
            for row in batch:
                yield row


def _up_to_last(kind: Kind, rows: list[Any]) -> tuple[list[Any], bool]:
    """The rows up to and including the stream's last one, and whether it is among them."""
    for index, row in enumerate(rows):
        if _is_last(kind, row):
            return rows[: index + 1], True
    return rows, False


async def follow_batches(
    pk: int, kind: Kind, after_seq: int | None, principal: Principal, max_items: int
) -> AsyncGenerator[list[Any], None]:
    """`follow` in lists of up to `max_items` consecutive rows: whatever is at hand is sent
    at once (a lone line waits for nothing), and a fast producer's rows pile up into full
    lists while the last one is on its way, so the cost per message is paid per list."""
    last = max(after_seq or 0, 0)
    inbox = Inbox()
    checked_at = -1.0
    read_limit = max(READ_BATCH, max_items)
    with broker.subscribe(pk, kind, inbox), streaming(kind):
        catch_up = True
        while True:
            if catch_up or inbox.resync or inbox.dropped:
                # Read the database: the replay, and after a gap or an overflow.
                inbox.resync = False
                inbox.take_dropped()
                checked_at = asyncio.get_running_loop().time()
                await ensure_still_valid(principal, checked_at)
                state = await DeploymentRow.filter(id=pk).limit(1).values("status", COUNTERS[kind])
                if not state:
                    raise StreamRefused("The deployment no longer exists.", "NOT_FOUND")
                # Status and counter before the rows: a concluded deployment's counter is final.
                concluded = state[0]["status"] in TERMINAL_STATUSES
                newest = int(state[0][COUNTERS[kind]])
                rows = await fetch_rows(
                    MODELS[kind]
                    .filter(deployment_id=pk, seq__gt=last)
                    .order_by("seq")
                    .limit(read_limit)
                )
                for start in range(0, len(rows), max_items):
                    batch, ended = _up_to_last(kind, rows[start : start + max_items])
                    yield batch
                    last = batch[-1].seq
                    if ended:
                        return
                if len(rows) == read_limit:
                    continue
                catch_up = False
                if last < newest and inbox.newest.get(pk, 0) <= newest:
                    inbox.newest[pk] = last  # rows missing from the database: do not spin on them
                # A concluded deployment's log lines can only be fewer than its counter when
                # retention removed them (`logsPrunedAt`): what is left has been passed on.
                if concluded and (last >= newest or kind == "logs"):
                    return
                broker.seed(pk, kind, last)
                continue
            final = inbox.final.get(pk)
            if final is not None and last >= final:
                return
            if not inbox.items:
                if inbox.newest.get(pk, 0) > last:
                    catch_up = True  # committed, but not offered to this inbox: read it
                    continue
                inbox.ready.clear()
                await inbox.ready.wait()
                continue
            batch = []
            expected = last + 1
            while inbox.items and len(batch) < max_items:
                row = inbox.items[0]
                if row.seq < expected:
                    inbox.items.popleft()  # already sent (read from the database)
                    continue
                if row.seq > expected:
                    catch_up = True  # a gap: read it from the database, this row included
                    break
                inbox.items.popleft()
                batch.append(row)
                expected += 1
                if _is_last(kind, row):
                    break
            if not batch:
                continue
            if inbox.offered_at > checked_at:
                # Any check begun after these rows arrived will do (one query serves the
                # subscribers an offer woke together).
                checked_at = inbox.offered_at
                await ensure_still_valid(principal, checked_at)
            yield batch
            last = batch[-1].seq
            if _is_last(kind, batch[-1]):
                return


async def follow_feed(principal: Principal, project_pk: int | None) -> AsyncGenerator[EventRow, None]:
    """Every new event of every deployment the principal may see (of one project, if
    given), each once and in seq order per deployment. Never ends."""

    def admits(project_id: int) -> bool:
        return (project_pk is None or project_id == project_pk) and project_visible(principal, project_id)

    inbox = Inbox(admits=admits)
    sent: dict[int, int] = {}  # deployment id → last seq passed on (until its CONCLUDED)
    checked_at = -1.0
    with broker.subscribe_feed(inbox), streaming("feed"):
        while True:
            if inbox.resync or inbox.dropped:
                starts = {pk: sent.get(pk, seq - 1) for pk, seq in inbox.take_dropped().items()}
                if inbox.resync:
                    inbox.resync = False
                    for pk, seq in sent.items():
                        starts.setdefault(pk, seq)
                checked_at = asyncio.get_running_loop().time()
                await ensure_still_valid(principal, checked_at)
                for pk in sorted(starts):
                    start = starts[pk]
                    while True:
                        rows = (
                            await EventRow.filter(deployment_id=pk, seq__gt=start)
                            .order_by("seq")
                            .limit(READ_BATCH)
                        )
                        for row in rows:
                            yield row
                            start = sent[pk] = row.seq
                        if len(rows) < READ_BATCH:
                            break
                    if rows and _is_last("events", rows[-1]):
                        sent.pop(pk, None)
                continue
            if not inbox.items:
                inbox.ready.clear()
                await inbox.ready.wait()
                continue
            row = inbox.items.popleft()
            pk = row.deployment_id
            last = sent.get(pk)
            if last is not None and row.seq <= last:
                continue
            if last is not None and row.seq > last + 1:
                inbox.dropped.setdefault(pk, last + 1)  # a gap: read it from the database
                continue
            if inbox.offered_at > checked_at:
                # Any check begun after these rows arrived will do (one query serves the
                # subscribers an offer woke together).
                checked_at = inbox.offered_at
                await ensure_still_valid(principal, checked_at)
            yield row
            if _is_last("events", row):
                sent.pop(pk, None)
            else:
                sent[pk] = row.seq
