from __future__ import annotations

import strawberry

from berth.domain.webhooks import redeliver
from berth.resolvers.common import decode, principal_of, run_mutation
from berth.schema.types.git import RedeliverWebhookPayload, WebhookDelivery


async def resolve(info: strawberry.Info, id: strawberry.ID) -> RedeliverWebhookPayload:
    async def action() -> WebhookDelivery:
        return WebhookDelivery.of(await redeliver(principal_of(info), decode(id, "WebhookDelivery", ["id"])))

    return await run_mutation(RedeliverWebhookPayload, action, "delivery")
