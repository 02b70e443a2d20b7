from __future__ import annotations

import strawberry

from berth.domain.service_deletion import delete_service
from berth.resolvers.common import decode, principal_of, run_mutation
from berth.schema.types.inputs import DeleteServiceInput, ServicePayload
from berth.schema.types.inventory import Service


async def resolve(info: strawberry.Info, input: DeleteServiceInput) -> ServicePayload:
    async def action() -> Service:
        service_id = decode(input.service_id, "Service", ["input", "serviceId"])
        return Service.of(await delete_service(principal_of(info), service_id))

    return await run_mutation(ServicePayload, action, "service")
