"""Replay-then-live streams (CONTRACT §5).

Register for wake-ups first, then read everything after the last sent seq from the
database, then wait for the next wake-up: a change committed between the read and the
wait has already set the event, so nothing is missed, and since items are read by
`seq > last` nothing is sent twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import strawberry

from berth.auth.principal import Principal
from berth.domain.queries import get_visible
from berth.events.broker import ALL, broker
from berth.models import ApiToken as ApiTokenRow
from berth.models import Deployment as DeploymentRow
from berth.models import DeploymentEvent as EventRow
from berth.models import LogLine as LogLineRow
from berth.models.enums import DeploymentEventType
from berth.models.lifecycle import TERMINAL_STATUSES
from berth.resolvers.common import principal_of
from berth.schema.errors import CodedError
from berth.schema.ids import pk_of
from berth.schema.types.deployment import LogLine
from berth.schema.types.events import DeploymentEvent

BATCH = 500


async def ensure_still_valid(principal: Principal) -> None:
    """A credential revoked or expired during a stream ends it (checked per batch of items)."""
    now = datetime.now(UTC)
    if principal.expires_at is not None and principal.expires_at <= now:
        raise CodedError("The credential has expired.", "UNAUTHENTICATED")
    if principal.token_id is not None:
        row = await ApiTokenRow.get_or_none(id=principal.token_id)
        if (
            row is None
            or row.revoked_at is not None
            or (row.expires_at is not None and row.expires_at <= now)
        ):
            raise CodedError("The credential was revoked or has expired.", "UNAUTHENTICATED")


async def _visible_deployment(info: strawberry.Info, deployment_id: strawberry.ID) -> int:
    pk = pk_of(deployment_id, "Deployment")
    row = await get_visible(principal_of(info), DeploymentRow, pk) if pk is not None else None
    if row is None:
        raise CodedError(f"No deployment with id {deployment_id!r}.", "NOT_FOUND")
    return pk  # type: ignore[return-value]


async def deployment_events(
    info: strawberry.Info, deployment_id: strawberry.ID, after_seq: int | None
) -> AsyncIterator[DeploymentEvent]:
    principal = principal_of(info)
    pk = await _visible_deployment(info, deployment_id)
    last = max(after_seq or 0, 0)
    with broker.watch(pk) as wake:
        while True:
            wake.clear()
            await ensure_still_valid(principal)
            rows = await EventRow.filter(deployment_id=pk, seq__gt=last).order_by("seq").limit(BATCH)
            for row in rows:
                info.context.fresh_loaders()
                yield DeploymentEvent.of(row)
                last = row.seq
                if row.type == DeploymentEventType.CONCLUDED:
                    return
            if len(rows) < BATCH:
                if not rows and await _concluded(pk):
                    return  # resumed after CONCLUDED: nothing more will come
                await wake.wait()


async def _concluded(deployment_id: int) -> bool:
    statuses = await DeploymentRow.filter(id=deployment_id).values_list("status", flat=True)
    return bool(statuses) and statuses[0] in TERMINAL_STATUSES


async def deployment_logs(
    info: strawberry.Info, deployment_id: strawberry.ID, after_seq: int | None
) -> AsyncIterator[LogLine]:
    principal = principal_of(info)
    pk = await _visible_deployment(info, deployment_id)
    last = max(after_seq or 0, 0)
    with broker.watch(pk) as wake:
        while True:
            wake.clear()
            await ensure_still_valid(principal)
            # Status before lines: no line is stored after the conclusion, so a concluded
            # deployment whose lines are all read is complete.
            concluded = await _concluded(pk)
            rows = await LogLineRow.filter(deployment_id=pk, seq__gt=last).order_by("seq").limit(BATCH)
            for row in rows:
                yield LogLine.of(row)
                last = row.seq
            if len(rows) < BATCH:
                if concluded:
                    return
                await wake.wait()


async def deployment_feed(
    info: strawberry.Info, project_id: strawberry.ID | None
) -> AsyncIterator[DeploymentEvent]:
    principal = principal_of(info)
    project_pk = pk_of(project_id, "Project") if project_id else None
    if project_id and (project_pk is None or not principal.may_see_project(project_pk)):
        raise CodedError(f"No project with id {project_id!r}.", "NOT_FOUND")
    with broker.watch(ALL) as wake:
        newest = await EventRow.all().order_by("-id").limit(1).values_list("id", flat=True)
        last_id = int(str(newest[0])) if newest else 0
        while True:
            await wake.wait()
            wake.clear()
            await ensure_still_valid(principal)
            query = EventRow.filter(id__gt=last_id)
            if project_pk is not None:
                query = query.filter(deployment__project_id=project_pk)
            elif principal.is_project_limited:
                query = query.filter(deployment__project_id__in=list(principal.project_ids))
            rows = await query.order_by("id").limit(BATCH)
            for row in rows:
                info.context.fresh_loaders()
                yield DeploymentEvent.of(row)
                last_id = row.pk
            if len(rows) == BATCH:
                wake.set()
