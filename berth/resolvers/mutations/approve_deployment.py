from __future__ import annotations

import strawberry

from berth.domain.approvals import decide_deployment
from berth.resolvers.common import decode, principal_of, run_mutation
from berth.schema.types.approvals import DecideDeploymentInput, DecideDeploymentPayload
from berth.schema.types.deployment import Deployment


async def resolve(info: strawberry.Info, input: DecideDeploymentInput) -> DecideDeploymentPayload:
    async def action() -> Deployment:
        pk = decode(input.deployment_id, "Deployment", ["input", "deploymentId"])
        row = await decide_deployment(principal_of(info), pk, approved=True, comment=input.comment)
        return Deployment.of(row)

    return await run_mutation(DecideDeploymentPayload, action, "deployment")
