"""Changing an environment: today its protection (`requiredApprovals`).

The new value applies to deployments queued from then on; those already queued keep the
count frozen when they were (a deployment never changes what it waits for).
"""

from __future__ import annotations

from berth.auth.principal import Principal
from berth.domain.errors import ErrorList, not_found
from berth.domain.queries import get_visible
from berth.domain.specs import EnvironmentUpdateSpec
from berth.models import Environment

FIELD = ["input", "environmentId"]
# More reviewers than this is a mistake, not a policy: no team could clear it.
MAX_REQUIRED_APPROVALS = 10


async def update_environment(principal: Principal, spec: EnvironmentUpdateSpec) -> Environment:
    environment = await get_visible(principal, Environment, spec.environment_id)
    if environment is None:
        raise not_found("environment", FIELD)
    errors = ErrorList()
    required = spec.required_approvals
    if required is not None and not 0 <= required <= MAX_REQUIRED_APPROVALS:
        errors.add(
            ["input", "requiredApprovals"],
            f"requiredApprovals must be between 0 and {MAX_REQUIRED_APPROVALS}",
        )
    errors.raise_if_any()
    if required is not None and required != environment.required_approvals:
        await Environment.filter(id=environment.id).update(required_approvals=required)
        environment.required_approvals = required
    return environment
