"""`deployment(id:)` and the top-level `deployments` connection."""

from __future__ import annotations

import strawberry

from berth.domain.queries import get_visible
from berth.models import Deployment as DeploymentRow
from berth.resolvers.common import principal_of
from berth.schema.deployment_pages import resolve_deployments
from berth.schema.ids import pk_of
from berth.schema.types.deployment import Deployment

__all__ = ["resolve_deployment", "resolve_deployments"]


async def resolve_deployment(info: strawberry.Info, id: strawberry.ID) -> Deployment | None:
    pk = pk_of(id, "Deployment")
    if pk is None:
        return None
    row = await get_visible(principal_of(info), DeploymentRow, pk)
    return Deployment.of(row) if row else None
