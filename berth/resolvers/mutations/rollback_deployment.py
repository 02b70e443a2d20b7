from __future__ import annotations

import strawberry

from berth.domain.rollback import rollback_deployment
from berth.domain.specs import RollbackSpec
from berth.resolvers.common import decode, principal_of, run_mutation, to_spec
from berth.schema.types.deployment import Deployment
from berth.schema.types.inputs import RollbackDeploymentInput, RollbackDeploymentPayload


async def resolve(info: strawberry.Info, input: RollbackDeploymentInput) -> RollbackDeploymentPayload:
    async def action() -> Deployment:
        target = (
            decode(input.to_deployment_id, "Deployment", ["input", "toDeploymentId"])
            if input.to_deployment_id
            else None
        )
        spec = to_spec(
            RollbackSpec,
            input,
            service_id=decode(input.service_id, "Service", ["input", "serviceId"]),
            to_deployment_id=target,
        )
        return Deployment.of(await rollback_deployment(principal_of(info), spec))

    return await run_mutation(RollbackDeploymentPayload, action, "deployment")
