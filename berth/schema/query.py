"""The `Query` root."""

from __future__ import annotations

import strawberry

from berth.auth.api_tokens import manageable_tokens
from berth.domain.queries import get_visible
from berth.models import Project as ProjectRow
from berth.models import Server as ServerRow
from berth.models import Service as ServiceRow
from berth.resolvers.common import principal_of
from berth.resolvers.deployments import resolve_deployment, resolve_deployments
from berth.resolvers.node import resolve_node
from berth.schema.directives import requires
from berth.schema.errors import unauthenticated
from berth.schema.ids import pk_of
from berth.schema.types.deployment import Deployment, DeploymentConnection, DeploymentFilter
from berth.schema.types.identity import ApiToken, Viewer
from berth.schema.types.inventory import Project, Server, Service
from berth.schema.types.node import Node


@strawberry.type(name="Query")
class Query:
    @strawberry.field
    async def node(self, info: strawberry.Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info, id)

    @strawberry.field(description="The caller; null (with UNAUTHENTICATED) when anonymous.")
    def viewer(self, info: strawberry.Info) -> Viewer | None:
        if info.context.principal is None:
            raise unauthenticated()
        return Viewer.of(info.context.principal)

    @strawberry.field(directives=requires("deploy:read"))
    async def deployment(self, info: strawberry.Info, id: strawberry.ID) -> Deployment | None:
        return await resolve_deployment(info, id)

    @strawberry.field(directives=requires("deploy:read"))
    async def deployments(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: DeploymentFilter | None = None,
    ) -> DeploymentConnection | None:
        return await resolve_deployments(info, first, after, last, before, filter)

    @strawberry.field(directives=requires("server:read"))
    async def servers(self, info: strawberry.Info) -> list[Server] | None:
        return [Server.of(row) for row in await ServerRow.all().order_by("id")]

    @strawberry.field(directives=requires("service:read"))
    async def projects(self, info: strawberry.Info) -> list[Project] | None:
        principal = principal_of(info)
        query = ProjectRow.all()
        if principal.is_project_limited:
            query = query.filter(id__in=sorted(principal.project_ids))
        return [Project.of(row) for row in await query.order_by("id")]

    @strawberry.field(directives=requires("service:read"))
    async def service(self, info: strawberry.Info, id: strawberry.ID) -> Service | None:
        pk = pk_of(id, "Service")
        row = await get_visible(principal_of(info), ServiceRow, pk) if pk is not None else None
        return Service.of(row) if row else None

    @strawberry.field(directives=requires("tokens:manage"))
    async def api_tokens(self, info: strawberry.Info) -> list[ApiToken] | None:
        return [ApiToken.of(row) for row in await manageable_tokens(principal_of(info))]
