from __future__ import annotations

import strawberry

from berth.domain.notifications import delete_channel
from berth.resolvers.common import decode, principal_of, run_mutation
from berth.schema.types.notifications import NotificationChannel, NotificationChannelPayload


async def resolve(info: strawberry.Info, id: strawberry.ID) -> NotificationChannelPayload:
    async def action() -> NotificationChannel:
        return NotificationChannel.of(await delete_channel(principal_of(info), decode(id, "NotificationChannel", ["id"])))

    return await run_mutation(NotificationChannelPayload, action, "channel")
