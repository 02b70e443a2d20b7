from __future__ import annotations

import strawberry

from berth.domain.cancel import cancel_deployment
from berth.resolvers.common import decode, principal_of, run_mutation
from berth.schema.types.deployment import Deployment
from berth.schema.types.inputs import CancelDeploymentInput, CancelDeploymentPayload


async def resolve(info: strawberry.Info, input: CancelDeploymentInput) -> CancelDeploymentPayload:
    async def action() -> Deployment:
        pk = decode(input.deployment_id, "Deployment", ["input", "deploymentId"])
        return Deployment.of(await cancel_deployment(principal_of(info), pk, input.reason))

    return await run_mutation(CancelDeploymentPayload, action, "deployment")
