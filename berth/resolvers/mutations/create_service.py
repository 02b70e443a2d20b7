from __future__ import annotations

import strawberry

from berth.domain.inventory import create_service
from berth.domain.specs import ServiceSpec
from berth.resolvers.common import decode, principal_of, run_mutation, to_spec
from berth.resolvers.mutations.service_specs import (
    env_specs,
    health_spec,
    resources_spec,
    route_spec,
    source_spec,
)
from berth.schema.types.inputs import CreateServiceInput, ServicePayload
from berth.schema.types.inventory import Service


async def resolve(info: strawberry.Info, input: CreateServiceInput) -> ServicePayload:
    async def action() -> Service:
        spec = to_spec(
            ServiceSpec,
            input,
            project_id=decode(input.project_id, "Project", ["input", "projectId"]),
            server_id=decode(input.server_id, "Server", ["input", "serverId"]),
            source=source_spec(input.source),
            env=env_specs(input.env),
            health_check=health_spec(input.health_check),
            resources=resources_spec(input.resources),
            route=route_spec(input.route),
        )
        return Service.of(await create_service(principal_of(info), spec))

    return await run_mutation(ServicePayload, action, "service")
