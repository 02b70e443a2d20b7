"""Idempotency keys (CONTRACT §3): unique per credential subject, mutation and key for 24 h.

The `IdempotencyKey` row is inserted in the same transaction as the deployment it names,
and its unique constraint is what makes concurrent duplicates safe: whoever commits first
wins, the others roll back and answer with the winner's deployment. Calls that fail store
nothing, so they are not recorded.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from berth.auth.principal import Principal
from berth.domain.errors import UserErrorCode, UserFacingError
from berth.models import Deployment, IdempotencyKey
from berth.models.lifecycle import now

KEY_LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255
KEY_FIELD = ["input", "idempotencyKey"]


def key_problem(key: str) -> str | None:
    if not key or len(key) > MAX_KEY_LENGTH or any(ord(ch) < 32 for ch in key):
        return f"idempotencyKey must be 1–{MAX_KEY_LENGTH} printable characters"
    return None


def request_hash(request: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of every input field but the key."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _cutoff() -> datetime:
    return now() - KEY_LIFETIME


async def find_live(
    principal: Principal, mutation: str, key: str, conn: BaseDBAsyncClient | None = None
) -> IdempotencyKey | None:
    query = IdempotencyKey.filter(
        subject=principal.idempotency_subject, mutation=mutation, key=key, created_at__gte=_cutoff()
    )
    if conn is not None:
        query = query.using_db(conn)
    return await query.first()


def replay(row: IdempotencyKey, hashed: str) -> int:
    """The deployment id to answer with for a live key, or IDEMPOTENCY_KEY_REUSED."""
    if row.request_hash != hashed:
        raise UserFacingError(
            UserErrorCode.IDEMPOTENCY_KEY_REUSED,
            "this idempotencyKey was used with a different input in the last 24 hours",
            KEY_FIELD,
        )
    return row.deployment_id  # type: ignore[attr-defined,no-any-return]


async def lookup(principal: Principal, mutation: str, key: str, hashed: str) -> Deployment | None:
    """The original deployment for a live key with the same input; None when the key is unused."""
    row = await find_live(principal, mutation, key)
    if row is None:
        return None
    return await Deployment.get(id=replay(row, hashed))


async def forget_expired(conn: BaseDBAsyncClient, principal: Principal, mutation: str, key: str) -> None:
    """An expired key may be used again: its old row goes, in the caller's transaction."""
    await IdempotencyKey.filter(
        subject=principal.idempotency_subject, mutation=mutation, key=key, created_at__lt=_cutoff()
    ).using_db(conn).delete()


async def record(
    conn: BaseDBAsyncClient, principal: Principal, mutation: str, key: str, hashed: str, deployment_id: int
) -> None:
    """Insert the key row; raises IntegrityError when a concurrent duplicate committed first."""
    await IdempotencyKey.create(
        using_db=conn,
        subject=principal.idempotency_subject,
        mutation=mutation,
        key=key,
        request_hash=hashed,
        deployment_id=deployment_id,
        created_at=now(),
    )
