"""`DeploymentEvent`: a stored snapshot plus the deployment as it is now."""

from __future__ import annotations

from datetime import datetime

import strawberry

from berth.models import DeploymentEvent as EventRow
from berth.schema.types.common import DeploymentConclusion, DeploymentEventType, DeploymentStatus
from berth.schema.types.deployment import Deployment, DeploymentStep


@strawberry.type(name="DeploymentEvent")
class DeploymentEvent:
    seq: int = strawberry.field(description="Gap-free sequence number within the deployment, starting at 1.")
    type: DeploymentEventType
    at: datetime
    status: DeploymentStatus = strawberry.field(
        description="The deployment's status and conclusion right after this event "
        "(a stored snapshot, not today's value)."
    )
    conclusion: DeploymentConclusion | None
    step: DeploymentStep | None = strawberry.field(
        description="Set for STEP_CHANGED: the step as it was right after this event."
    )
    row: strawberry.Private[EventRow]

    @strawberry.field(description="The deployment as it is now.")
    async def deployment(self, info: strawberry.Info) -> Deployment:
        row = await info.context.loaders.deployment.load(self.row.deployment_id)  # type: ignore[attr-defined]
        return Deployment.of(row)

    @classmethod
    def of(cls, row: EventRow) -> DeploymentEvent:
        return cls(
            seq=row.seq,
            type=row.type,
            at=row.at,
            status=row.status,
            conclusion=row.conclusion,
            step=DeploymentStep.of_snapshot(row.step) if row.step else None,
            row=row,
        )
