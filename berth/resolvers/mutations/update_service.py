from __future__ import annotations

import strawberry

from berth.domain.inventory import update_service
from berth.domain.specs import ServiceUpdateSpec
from berth.resolvers.common import decode, principal_of, run_mutation, to_spec
from berth.resolvers.mutations.service_specs import (
    env_specs,
    health_spec,
    resources_spec,
    route_spec,
    source_spec,
)
from berth.schema.types.inputs import ServicePayload, UpdateServiceInput
from berth.schema.types.inventory import Service


async def resolve(info: strawberry.Info, input: UpdateServiceInput) -> ServicePayload:
    async def action() -> Service:
        spec = to_spec(
            ServiceUpdateSpec,
            input,
            service_id=decode(input.service_id, "Service", ["input", "serviceId"]),
            source=source_spec(input.source),
            env=env_specs(input.env),
            health_check=health_spec(input.health_check),
            resources=resources_spec(input.resources),
            route=route_spec(input.route),
        )
        return Service.of(await update_service(principal_of(info), spec))

    return await run_mutation(ServicePayload, action, "service")
