"""What the database knows, read at scrape time for `/metrics`: deployments by status,
conclusion and source; per server the queue, what waits for approval and what runs; the
runner leases held.

Read at scrape time rather than counted, so that every process (API or runner, one or
several) reports the same whole truth, and a restart loses nothing. Four small queries; the
first groups the whole deployment table, which a scrape every 15 s can afford.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.functions import Count

from berth.models import Deployment, Server
from berth.models.enums import ApprovalState, DeploymentStatus
from berth.models.lifecycle import ACTIVE_STATUSES


@dataclass(frozen=True)
class DeploymentCount:
    status: str
    conclusion: str | None
    source: str
    count: int


@dataclass(frozen=True)
class ServerLoad:
    server: str
    queued: int
    running: int
    awaiting_approval: int = 0


@dataclass(frozen=True)
class Gauges:
    deployments: list[DeploymentCount]
    servers: list[ServerLoad]
    active_leases: int


async def read_gauges(at: datetime) -> Gauges:
    by_outcome = (
        await Deployment.all()
        .annotate(n=Count("id"))
        .group_by("status", "conclusion", "service__source_type")
        .values("status", "conclusion", "service__source_type", "n")
    )
    running = (
        await Deployment.filter(status__in=list(ACTIVE_STATUSES))
        .annotate(n=Count("id"))
        .group_by("server_id", "status", "approval_state")
        .values("server_id", "status", "approval_state", "n")
    )
    names = dict(await Server.all().values_list("id", "name"))
    leases = await Deployment.filter(
        status__in=list(ACTIVE_STATUSES), claimed_by__not_isnull=True, lease_expires_at__gt=at
    ).count()
    # [queued, running, awaiting approval]: a deployment waiting for its approvals holds no
    # queue slot (it is not claimable), so it is not queue depth.
    load = {server_id: [0, 0, 0] for server_id in names}
    for row in running:
        counts = load.setdefault(int(row["server_id"]), [0, 0, 0])
        if row["status"] != DeploymentStatus.QUEUED:
            counts[1] += int(row["n"])
        elif row["approval_state"] == ApprovalState.PENDING:
            counts[2] += int(row["n"])
        else:
            counts[0] += int(row["n"])
    return Gauges(
        deployments=[
            DeploymentCount(str(r["status"]), None if r["conclusion"] is None else str(r["conclusion"]),
                            str(r["service__source_type"]), int(r["n"]))
            for r in by_outcome
        ],
        servers=sorted(
            (ServerLoad(names.get(pk, str(pk)), queued, active, waiting)
             for pk, (queued, active, waiting) in load.items()),
            key=lambda s: s.server,
        ),
        active_leases=leases,
    )
