"""The `Query` root."""

from __future__ import annotations

import strawberry

from berth.resolvers.deployments import resolve_deployment, resolve_deployments
from berth.resolvers.inventory import resolve_api_tokens, resolve_projects, resolve_servers, resolve_service
from berth.resolvers.node import resolve_node
from berth.resolvers.plans import resolve_plan
from berth.schema.audit_pages import resolve_audit_events
from berth.schema.directives import requires
from berth.schema.errors import unauthenticated
from berth.schema.types.audit import AuditEventConnection, AuditFilter
from berth.schema.types.deployment import Deployment, DeploymentConnection, DeploymentFilter
from berth.schema.types.identity import ApiToken, Viewer
from berth.schema.types.inputs import StartDeploymentInput
from berth.schema.types.inventory import Project, Server, Service
from berth.schema.types.node import Node
from berth.schema.types.plans import DeploymentPlan


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

    @strawberry.field(
        directives=requires("deploy:read"),
        description="What startDeployment would do with this input (changes, superseding, queue, approval, "
        "refusals), computed without writing anything.",
    )
    async def plan_deployment(self, info: strawberry.Info, input: StartDeploymentInput) -> DeploymentPlan | None:
        return await resolve_plan(info, input)

    @strawberry.field(directives=requires("server:read"))
    async def servers(self, info: strawberry.Info) -> list[Server] | None:
        return await resolve_servers()

    @strawberry.field(directives=requires("service:read"))
    async def projects(self, info: strawberry.Info) -> list[Project] | None:
        return await resolve_projects(info)

    @strawberry.field(directives=requires("service:read"))
    async def service(self, info: strawberry.Info, id: strawberry.ID) -> Service | None:
        return await resolve_service(info, id)

    @strawberry.field(directives=requires("tokens:manage"))
    async def api_tokens(self, info: strawberry.Info) -> list[ApiToken] | None:
        return await resolve_api_tokens(info)

    @strawberry.field(directives=requires("audit:read"))
    async def audit_events(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None,
        filter: AuditFilter | None = None,
    ) -> AuditEventConnection | None:
        return await resolve_audit_events(info, first, after, filter)
