from __future__ import annotations

import strawberry

from berth.domain.deployments import start_deployment
from berth.domain.specs import StartSpec
from berth.resolvers.common import decode, principal_of, run_mutation, to_spec
from berth.schema.types.deployment import Deployment
from berth.schema.types.inputs import StartDeploymentInput, StartDeploymentPayload


async def resolve(info: strawberry.Info, input: StartDeploymentInput) -> StartDeploymentPayload:
    async def action() -> Deployment:
        spec = to_spec(
            StartSpec, input, service_id=decode(input.service_id, "Service", ["input", "serviceId"])
        )
        return Deployment.of(await start_deployment(principal_of(info), spec))

    return await run_mutation(StartDeploymentPayload, action, "deployment")
