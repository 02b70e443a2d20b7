"""`auditEvents`: a newest-first page of the entries the caller may read."""

from __future__ import annotations

import strawberry

from berth.domain.audit import AuditQuery, visible_events
from berth.domain.errors import UserFacingError
from berth.domain.queries import newest_first_page
from berth.ids import from_global_id
from berth.schema.deployment_pages import _selects
from berth.schema.errors import CodedError
from berth.schema.types.audit import AuditEvent, AuditEventConnection, AuditEventEdge, AuditFilter
from berth.schema.types.common import PageInfo


def _query(raw: AuditFilter | None) -> AuditQuery:
    if raw is None:
        return AuditQuery()
    target = from_global_id(raw.target_id) if raw.target_id else None
    return AuditQuery(
        action=raw.action or None,
        subject=raw.subject or None,
        target=target,
        # An id that is not one of ours names nothing: an empty page, as for any other filter.
        unknown_target=bool(raw.target_id) and target is None,
        since=raw.since,
        until=raw.until,
    )


async def resolve_audit_events(
    info: strawberry.Info, first: int | None, after: str | None, filter: AuditFilter | None
) -> AuditEventConnection:
    rows = visible_events(info.context.require_principal(), _query(filter))
    try:
        page = await newest_first_page(rows, "at", first, after, with_total=_selects(info, "totalCount"))
    except UserFacingError as error:
        raise CodedError(error.message, "BAD_USER_INPUT", field=error.field) from None
    return AuditEventConnection(
        edges=[AuditEventEdge(cursor=cursor, node=AuditEvent.of(row))
               for cursor, row in zip(page.cursors, page.nodes, strict=True)],
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.start_cursor,
            end_cursor=page.end_cursor,
        ),
        total_count=page.total_count,
    )
