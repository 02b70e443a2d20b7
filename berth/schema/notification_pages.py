"""Notification channels and their deliveries as the schema shows them (like git_pages)."""

from __future__ import annotations

from berth.domain.errors import UserFacingError
from berth.domain.notifications import channels_of_project, list_deliveries
from berth.schema.errors import CodedError
from berth.schema.types.common import PageInfo
from berth.schema.types.notifications import (
    NotificationChannel,
    NotificationDelivery,
    NotificationDeliveryConnection,
    NotificationDeliveryEdge,
)


async def resolve_project_channels(project_id: int) -> list[NotificationChannel]:
    return [NotificationChannel.of(row) for row in await channels_of_project(project_id)]


async def resolve_deliveries(channel_id: int, first: int | None, after: str | None) -> NotificationDeliveryConnection:
    try:
        page = await list_deliveries(channel_id, first, after)
    except UserFacingError as error:
        raise CodedError(error.message, "BAD_USER_INPUT", field=error.field) from None
    return NotificationDeliveryConnection(
        edges=[
            NotificationDeliveryEdge(cursor=cursor, node=NotificationDelivery.of(row))
            for cursor, row in zip(page.cursors, page.nodes, strict=True)
        ],
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.start_cursor,
            end_cursor=page.end_cursor,
        ),
        total_count=page.total_count,
    )
