"""Protected environments: a deployment's approval, and the inputs that decide it."""

from __future__ import annotations

from datetime import datetime

import strawberry

from berth.domain.approvals import Approval
from berth.schema.types.common import ApprovalState, UserError
from berth.schema.types.deployment import Actor, Deployment
from berth.schema.types.inventory import Environment


@strawberry.type(name="ApprovalDecision")
class ApprovalDecision:
    actor: Actor
    approved: bool
    comment: str | None
    at: datetime


@strawberry.type(name="DeploymentApproval")
class DeploymentApproval:
    state: ApprovalState
    required: int = strawberry.field(
        description="Approvals needed, from principals other than the one who started it."
    )
    decisions: list[ApprovalDecision]

    @classmethod
    def of(cls, approval: Approval) -> DeploymentApproval:
        return cls(
            state=approval.state,
            required=approval.required,
            decisions=[
                ApprovalDecision(actor=Actor.of(d.actor), approved=d.approved, comment=d.comment, at=d.at)
                for d in approval.decisions
            ],
        )


@strawberry.input(name="UpdateEnvironmentInput")
class UpdateEnvironmentInput:
    environment_id: strawberry.ID
    required_approvals: int | None = strawberry.field(
        default=None, description="0 (no approval needed) to 10; null leaves it as it is."
    )


@strawberry.type(name="EnvironmentPayload")
class EnvironmentPayload:
    environment: Environment | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(name="DecideDeploymentInput")
class DecideDeploymentInput:
    deployment_id: strawberry.ID
    comment: str | None = strawberry.field(default=None, description="Required to reject.")


@strawberry.type(name="DecideDeploymentPayload")
class DecideDeploymentPayload:
    deployment: Deployment | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
