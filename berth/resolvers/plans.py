"""`planDeployment`: startDeployment's checks and effects, computed without writing."""

from __future__ import annotations

import strawberry

from berth.domain.errors import UserFacingError
from berth.domain.plans import Plan, plan_deployment
from berth.domain.specs import StartSpec
from berth.resolvers.common import decode, principal_of, to_spec, user_errors
from berth.schema.types.inputs import StartDeploymentInput
from berth.schema.types.plans import DeploymentPlan


async def resolve_plan(info: strawberry.Info, input: StartDeploymentInput) -> DeploymentPlan:
    try:
        spec = to_spec(StartSpec, input, service_id=decode(input.service_id, "Service", ["input", "serviceId"]))
    except UserFacingError as error:  # an id that is not a service's: startDeployment's refusal too
        return DeploymentPlan.of(Plan(service=None, problem=error), user_errors(error))
    plan = await plan_deployment(principal_of(info), spec)
    return DeploymentPlan.of(plan, user_errors(plan.problem) if plan.problem else [])
