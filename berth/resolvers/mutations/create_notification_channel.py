from __future__ import annotations

import strawberry

from berth.domain.errors import UserFacingError
from berth.domain.notifications import ChannelSpec, create_channel
from berth.resolvers.common import decode, principal_of, user_errors
from berth.schema.types.notifications import (
    CreateNotificationChannelInput,
    NotificationChannel,
    NotificationChannelPayload,
)


async def resolve(info: strawberry.Info, input: CreateNotificationChannelInput) -> NotificationChannelPayload:
    try:
        spec = ChannelSpec(
            project_id=decode(input.project_id, "Project", ["input", "projectId"]),
            name=input.name,
            kind=input.kind,
            url=input.url,
            events=list(input.events),
        )
        row, secret = await create_channel(principal_of(info), spec)
    except UserFacingError as error:
        return NotificationChannelPayload(errors=user_errors(error))
    return NotificationChannelPayload(channel=NotificationChannel.of(row), secret=secret, errors=[])
