"""`DeploymentPlan`: what startDeployment would do (berth.domain.plans)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON

from berth.domain.plans import Plan
from berth.schema.types.common import UserError
from berth.schema.types.deployment import Deployment
from berth.schema.types.inventory import Service


@strawberry.type(name="PlanChange")
class PlanChange:
    path: str
    before: JSON | None
    after: JSON | None


@strawberry.type(name="DeploymentPlan", description="What starting this deployment would do, computed without queuing anything.")
class DeploymentPlan:
    service: Service | None
    changes: list[PlanChange] = strawberry.field(
        description="Differences between what would be deployed and the last observed live state "
        "(paths into the frozen input)."
    )
    would_supersede: list[Deployment] = strawberry.field(description="QUEUED deployments this one would supersede.")
    queue_ahead: int = strawberry.field(description="Deployments ahead of it on its server's queue.")
    requires_approval: bool
    problems: list[UserError] = strawberry.field(
        description="What startDeployment would refuse, with the same codes and fields."
    )

    @classmethod
    def of(cls, plan: Plan, problems: list[UserError]) -> DeploymentPlan:
        def value(raw: Any) -> JSON | None:
            return raw  # type: ignore[no-any-return]

        return cls(
            service=Service.of(plan.service) if plan.service is not None else None,
            changes=[PlanChange(path=c.path, before=value(c.before), after=value(c.after)) for c in plan.changes],
            would_supersede=[Deployment.of(row) for row in plan.would_supersede],
            queue_ahead=plan.queue_ahead,
            requires_approval=plan.requires_approval,
            problems=problems,
        )
