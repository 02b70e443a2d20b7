from __future__ import annotations

import strawberry

from berth.domain.inventory import create_server
from berth.domain.specs import ServerSpec
from berth.resolvers.common import principal_of, run_mutation, to_spec
from berth.schema.types.inputs import CreateServerInput, ServerPayload
from berth.schema.types.inventory import Server


async def resolve(info: strawberry.Info, input: CreateServerInput) -> ServerPayload:
    async def action() -> Server:
        return Server.of(await create_server(principal_of(info), to_spec(ServerSpec, input)))

    return await run_mutation(ServerPayload, action, "server")
