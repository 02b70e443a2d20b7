from __future__ import annotations

import strawberry

from berth.domain.environments import update_environment
from berth.domain.specs import EnvironmentUpdateSpec
from berth.resolvers.common import decode, principal_of, run_mutation, to_spec
from berth.schema.types.approvals import EnvironmentPayload, UpdateEnvironmentInput
from berth.schema.types.inventory import Environment


async def resolve(info: strawberry.Info, input: UpdateEnvironmentInput) -> EnvironmentPayload:
    async def action() -> Environment:
        spec = to_spec(
            EnvironmentUpdateSpec,
            input,
            environment_id=decode(input.environment_id, "Environment", ["input", "environmentId"]),
        )
        return Environment.of(await update_environment(principal_of(info), spec))

    return await run_mutation(EnvironmentPayload, action, "environment")
