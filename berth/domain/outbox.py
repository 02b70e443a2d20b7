"""What every outbox shares: claiming due rows under a lease, fenced results, and backoff.

An outbox row is written in the transaction of the change it announces (commit statuses,
notifications); a sender claims the due ones, sends them and records the answer. A row is
*outstanding* while its `outstanding` filter holds (e.g. not yet sent nor abandoned).

Order: rows of one *group* (a commit of a hook, a deployment on a channel) go out in the
order they were written (the row id): only the oldest outstanding row of each group may be
claimed; the next one waits until that one is settled.

Claiming is a guarded update (`… WHERE id = ? AND attempts = ? AND next_attempt_at <= now`)
that bumps `attempts` and pushes `next_attempt_at` a lease ahead: of two senders (two
runner processes on PostgreSQL) exactly one claims a row, and a sender that dies while a
request is in flight leaves the row to be tried again once the lease passes. The result is
written fenced by the claimed attempt, so a late answer of a lapsed claim changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from tortoise.models import Model

from berth.models.lifecycle import now

# Outstanding rows looked at per round: the oldest first, so a group's head is always
# among them before its later rows.
SCAN_LIMIT = 500
MAX_ERROR = 500

R = TypeVar("R", bound=Model)


@dataclass(frozen=True)
class Claimed(Generic[R]):
    row: R
    # The attempt this claim makes (1 for the first), the fence of its result.
    attempt: int


@dataclass(frozen=True)
class Round(Generic[R]):
    claimed: list[Claimed[R]]
    # When the earliest outstanding row not claimed now falls due (None: none waits).
    next_due: datetime | None


async def claim_due(
    model: type[R],
    outstanding: dict[str, Any],
    group_of: Callable[[R], Hashable],
    lease_seconds: float,
    limit: int,
    moment: datetime | None = None,
) -> Round[R]:
    """Claim up to `limit` due group heads of `model` (rows with `attempts`, `next_attempt_at`)."""
    moment = moment or now()
    rows = await model.filter(**outstanding).order_by("id").limit(SCAN_LIMIT)
    heads: dict[Hashable, R] = {}
    for row in rows:
        heads.setdefault(group_of(row), row)
    claimed: list[Claimed[R]] = []
    next_due: datetime | None = None
    for row in sorted(heads.values(), key=lambda r: r.pk):
        if len(claimed) >= limit:
            break
        due: datetime = row.next_attempt_at  # type: ignore[attr-defined]
        if due > moment:
            next_due = due if next_due is None else min(next_due, due)
            continue
        attempts: int = row.attempts  # type: ignore[attr-defined]
        taken = await model.filter(
            id=row.pk, attempts=attempts, next_attempt_at__lte=moment, **outstanding,
        ).update(attempts=attempts + 1, next_attempt_at=moment + timedelta(seconds=lease_seconds))
        if taken == 1:
            row.attempts = attempts + 1  # type: ignore[attr-defined]
            claimed.append(Claimed(row, attempts + 1))
    return Round(claimed, next_due)


async def settle(claim: Claimed[R], outstanding: dict[str, Any], **fields: Any) -> bool:
    """Write a claim's result, only if the row is still at the claimed attempt and outstanding
    (a lapsed claim's late answer changes nothing)."""
    model = type(claim.row)
    return await model.filter(id=claim.row.pk, attempts=claim.attempt, **outstanding).update(**fields) == 1


def retry_delay(attempts: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Exponential backoff: base, 2·base, 4·base … capped; a receiver's Retry-After (within
    the cap) when it asks for longer."""
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    if retry_after is not None:
        delay = max(delay, min(cap, retry_after))
    return delay


def scrub(text: str, secret: str) -> str:
    """`text` (an error, a receiver's answer) with the secret cut out, whatever it echoed."""
    return text.replace(secret, "***") if secret else text


def absolute_link(public_url: str | None, target: str) -> str | None:
    """A stored link made absolute on BERTH_PUBLIC_URL (None: no public address known,
    the message goes without a link)."""
    if target.startswith(("http://", "https://")):
        return target
    if public_url is None:
        return None
    return public_url.rstrip("/") + target
