from __future__ import annotations

import strawberry

from berth.domain.notifications import send_test_notification
from berth.resolvers.common import decode, principal_of, run_mutation
from berth.schema.types.notifications import NotificationChannel, NotificationChannelPayload


async def resolve(info: strawberry.Info, id: strawberry.ID) -> NotificationChannelPayload:
    async def action() -> NotificationChannel:
        pk = decode(id, "NotificationChannel", ["id"])
        return NotificationChannel.of(await send_test_notification(principal_of(info), pk))

    return await run_mutation(NotificationChannelPayload, action, "channel")
