"""Claiming queued deployments (CONTRACT §3, Queue and Crash safety).

A claim is a guarded update of the deployment row: `claimed_by` (the runner's id),
`lease_expires_at` (renewed by the runner's heartbeat) and `attempt + 1`, the fencing
token every later write of that run carries. A deployment is claimable when it is the
oldest QUEUED one of its lane, nothing else of that lane is active (claimed or running),
and its server runs fewer than `maxConcurrentDeployments`. A lane is the service itself,
or one pull request's preview of it: a preview's objects are its own (other names, labels,
compose project), so it may deploy while the service does, and neither waits for the other.

Why the server row is locked: `FOR UPDATE SKIP LOCKED` on deployment rows alone keeps two
runners from claiming the *same* deployment, but not from claiming two deployments of one
service, or one too many for a server, at the same moment (each sees the other's choice
only after commit). Locking the server row first serialises the claimers of one server,
and under PostgreSQL's READ COMMITTED each later statement of the transaction sees what
the previous lock holder committed. The domain takes the server lock first too
(`enqueue`), so the lock order is the same everywhere: server → deployment.

Protected environments: a deployment whose approval is PENDING is not claimable and holds
no place in its lane either (the lane's FIFO rule looks past it), so work that needs no
approval, or is approved, never waits behind a human's decision.

SQLite has no row locks; Berth on SQLite is one process, whose transactions Tortoise runs
one at a time, so the same statements give the same guarantees there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from berth.models import Deployment
from berth.models.enums import ApprovalState, DeploymentStatus
from berth.models.lifecycle import RUNNING_STATUSES, now
from berth.models.sql import CONNECTION, dialect, fetch, get_connection

QUEUED = str(DeploymentStatus.QUEUED)
PENDING = str(ApprovalState.PENDING)
_RUNNING = sorted(str(status) for status in RUNNING_STATUSES)
_RUNNING_MARKS = ", ".join("?" for _ in _RUNNING)
# "Active" for the queue rules: running, or claimed and about to run. A claim whose lease
# lapsed still counts until the reclaimer has concluded it: its containers may be running.
_ACTIVE_SQL = f"(a.status IN ({_RUNNING_MARKS}) OR (a.status = ? AND a.claimed_by IS NOT NULL))"
# Same service and same preview (none, for the service itself): one lane.
_SAME_LANE = "{o}.service_id = d.service_id AND COALESCE({o}.preview_id, 0) = COALESCE(d.preview_id, 0)"


@dataclass(frozen=True)
class Claim:
    deployment_id: int
    attempt: int
    service_id: int
    server_id: int


async def servers_with_waiting_work() -> list[int]:
    """Servers that have unclaimed QUEUED deployments, the longest-waiting first."""
    rows = await fetch(
        get_connection(),
        "SELECT server_id, MIN(created_at) AS oldest FROM deployment "
        "WHERE status = ? AND claimed_by IS NULL AND approval_state <> ? "
        "GROUP BY server_id ORDER BY oldest, server_id",
        [QUEUED, PENDING],
    )
    return [int(row["server_id"]) for row in rows]


async def active_count(server_id: int, conn: Any = None) -> int:
    rows = await fetch(
        conn or get_connection(),
        f"SELECT COUNT(*) AS n FROM deployment a WHERE a.server_id = ? AND {_ACTIVE_SQL}",
        [server_id, *_RUNNING, QUEUED],
    )
    return int(rows[0]["n"])


async def claim_on_server(server_id: int, runner_id: str, lease_seconds: float) -> Claim | None:
    """Claim the next eligible deployment of one server, or None (nothing eligible, or full)."""
    async with in_transaction(CONNECTION) as conn:
        postgres = dialect(conn) == "postgres"
        # NO KEY UPDATE: strong enough to serialise claimers (it conflicts with itself), but
        # not with the FOR KEY SHARE that foreign-key checks take on the server row, which
        # a lifecycle write of a deployment on this server can need while holding that
        # deployment's row lock; FOR UPDATE here would deadlock with it.
        lock = " FOR NO KEY UPDATE" if postgres else ""
        servers = await fetch(
            conn, f"SELECT id, max_concurrent_deployments FROM server WHERE id = ?{lock}", [server_id]
        )
        if not servers:
            return None
        if await active_count(server_id, conn) >= int(servers[0]["max_concurrent_deployments"]):
            return None
        # The oldest QUEUED unclaimed deployment of the server whose lane has nothing
        # active and no older QUEUED deployment (per-lane FIFO even if that older one is
        # locked by a writer at this moment: SKIP LOCKED must not let a newer one overtake).
        skip_locked = " FOR NO KEY UPDATE OF d SKIP LOCKED" if postgres else ""
        rows = await fetch(
            conn,
            "SELECT d.id, d.attempt, d.service_id FROM deployment d "
            "WHERE d.server_id = ? AND d.status = ? AND d.claimed_by IS NULL AND d.approval_state <> ? "
            f"AND NOT EXISTS (SELECT 1 FROM deployment a WHERE {_SAME_LANE.format(o='a')} "
            f"AND a.id <> d.id AND {_ACTIVE_SQL}) "
            f"AND NOT EXISTS (SELECT 1 FROM deployment o WHERE {_SAME_LANE.format(o='o')} "
            "AND o.status = ? AND o.approval_state <> ? AND (o.created_at < d.created_at OR (o.created_at = d.created_at AND o.id < d.id))) "
            f"ORDER BY d.created_at, d.id LIMIT 1{skip_locked}",
            [server_id, QUEUED, PENDING, *_RUNNING, QUEUED, QUEUED, PENDING],
        )
        if not rows:
            return None
        row = rows[0]
        attempt = int(row["attempt"])
        claimed = (
            await Deployment.filter(
                id=row["id"], status=DeploymentStatus.QUEUED, claimed_by=None, attempt=attempt
            )
            .using_db(conn)
            .update(
                claimed_by=runner_id,
                lease_expires_at=now() + timedelta(seconds=lease_seconds),
                attempt=F("attempt") + 1,
            )
        )
        if claimed != 1:  # cannot happen under the locks; refuse rather than guess
            return None
        return Claim(
            deployment_id=int(row["id"]),
            attempt=attempt + 1,
            service_id=int(row["service_id"]),
            server_id=server_id,
        )


async def claim_next(runner_id: str, lease_seconds: float) -> Claim | None:
    """Claim one eligible deployment on any server, the longest-waiting server first."""
    for server_id in await servers_with_waiting_work():
        claim = await claim_on_server(server_id, runner_id, lease_seconds)
        if claim is not None:
            return claim
    return None
