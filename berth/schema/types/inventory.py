"""Servers, projects, environments and services."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON

from berth.domain.documents import Document, visible_document
from berth.domain.git_auth import git_auth_view
from berth.domain.resources import stored_resources
from berth.models import Environment as EnvironmentRow
from berth.models import Project as ProjectRow
from berth.models import Server as ServerRow
from berth.models import Service as ServiceRow
from berth.models.enums import PreviewStatus
from berth.schema.directives import requires
from berth.schema.ids import to_global_id
from berth.schema.types.common import SourceType
from berth.schema.types.node import Node

if TYPE_CHECKING:
    from berth.schema.types.deployment import (
        Deployment,
        DeploymentConnection,
        DeploymentFilter,
        ObservedState,
    )
    from berth.schema.types.git import GitHook, PreviewEnvironment
    from berth.schema.types.notifications import NotificationChannel
    from berth.schema.types.registry import RegistryCredential
    from berth.schema.types.traffic import Route, ServerProxy

DeploymentT = Annotated["Deployment", strawberry.lazy("berth.schema.types.deployment")]
DeploymentConnectionT = Annotated["DeploymentConnection", strawberry.lazy("berth.schema.types.deployment")]
DeploymentFilterT = Annotated["DeploymentFilter", strawberry.lazy("berth.schema.types.deployment")]
ObservedStateT = Annotated["ObservedState", strawberry.lazy("berth.schema.types.deployment")]
GitHookT = Annotated["GitHook", strawberry.lazy("berth.schema.types.git")]
RegistryCredentialT = Annotated["RegistryCredential", strawberry.lazy("berth.schema.types.registry")]
PreviewEnvironmentT = Annotated["PreviewEnvironment", strawberry.lazy("berth.schema.types.git")]
RouteT = Annotated["Route", strawberry.lazy("berth.schema.types.traffic")]
ServerProxyT = Annotated["ServerProxy", strawberry.lazy("berth.schema.types.traffic")]
NotificationChannelT = Annotated["NotificationChannel", strawberry.lazy("berth.schema.types.notifications")]


@strawberry.type(name="Server", directives=requires("server:read"))
class Server(Node):
    name: str
    docker_host: str = strawberry.field(
        description="Docker endpoint: unix:///path, tcp://host:port (TLS when configured) or ssh://user@host."
    )
    max_concurrent_deployments: int
    max_queued_deployments: int
    allow_privileged: bool = strawberry.field(
        description="Whether services on this server may use privileged mode, host bind mounts, "
        "host network/pid, added capabilities or devices."
    )
    reachable: bool | None = strawberry.field(description="Updated by the observer.")
    last_checked_at: datetime | None
    docker_version: str | None
    row: strawberry.Private[ServerRow]

    @strawberry.field
    def proxy(self) -> ServerProxyT | None:
        from berth.schema.types.traffic import ServerProxy

        return ServerProxy.of(self.row.pk, self.row.proxy_status)

    @classmethod
    def of(cls, row: ServerRow) -> Server:
        return cls(
            id=strawberry.ID(to_global_id("Server", row.pk)),
            name=row.name,
            docker_host=row.docker_host,
            max_concurrent_deployments=row.max_concurrent_deployments,
            max_queued_deployments=row.max_queued_deployments,
            allow_privileged=row.allow_privileged,
            reachable=row.reachable,
            last_checked_at=row.last_checked_at,
            docker_version=row.docker_version,
            row=row,
        )


@strawberry.type(name="Project", directives=requires("service:read"))
class Project(Node):
    name: str
    row: strawberry.Private[ProjectRow]

    @strawberry.field
    async def environments(self) -> list[Environment]:
        rows = await EnvironmentRow.filter(project_id=self.row.pk).order_by("id")
        return [Environment.of(r) for r in rows]

    @strawberry.field
    async def services(
        self,
        info: strawberry.Info,
        include_deleted: Annotated[
            bool, strawberry.argument(description="Also the deleted services (their records stay readable).")
        ] = False,
    ) -> list[Service]:
        query = ServiceRow.filter(project_id=self.row.pk)
        if not include_deleted:
            query = query.filter(deleted_at__isnull=True)
        return [Service.of(r) for r in await query.order_by("id")]

    @strawberry.field(description="Where this project's deployment events are sent.")
    async def notification_channels(self) -> list[NotificationChannelT] | None:
        from berth.schema.notification_pages import resolve_project_channels

        return await resolve_project_channels(self.row.pk)  # type: ignore[return-value]

    @strawberry.field(description="Credentials for private registries (passwords are never returned).")
    async def registry_credentials(self) -> list[RegistryCredentialT] | None:
        from berth.domain.registry_credentials import project_credentials
        from berth.schema.types.registry import RegistryCredential

        return [RegistryCredential.of(row) for row in await project_credentials(self.row.pk)]  # type: ignore[misc]

    @classmethod
    def of(cls, row: ProjectRow) -> Project:
        return cls(id=strawberry.ID(to_global_id("Project", row.pk)), name=row.name, row=row)


@strawberry.type(name="Environment", directives=requires("service:read"))
class Environment(Node):
    name: str
    required_approvals: int = strawberry.field(
        description="Deployments into this environment wait QUEUED until this many others approve; 0: none needed."
    )
    row: strawberry.Private[EnvironmentRow]

    @strawberry.field
    async def project(self, info: strawberry.Info) -> Project:
        row = await info.context.loaders.project.load(self.row.project_id)
        return Project.of(row)

    @classmethod
    def of(cls, row: EnvironmentRow) -> Environment:
        return cls(
            id=strawberry.ID(to_global_id("Environment", row.pk)),
            name=row.name,
            required_approvals=row.required_approvals,
            row=row,
        )


@strawberry.type(name="HealthCheckConfig")
class HealthCheckConfig:
    kind: str = strawberry.field(description="HTTP, TCP or DOCKER (use the image's own HEALTHCHECK).")
    port: int | None
    path: str | None
    expected_status: list[int] | None
    timeout_seconds: int
    interval_seconds: int

    @classmethod
    def of(cls, data: dict[str, Any]) -> HealthCheckConfig:
        return cls(
            kind=data["kind"],
            port=data.get("port"),
            path=data.get("path"),
            expected_status=data.get("expectedStatus"),
            timeout_seconds=int(data.get("timeoutSeconds") or 60),
            interval_seconds=int(data.get("intervalSeconds") or 2),
        )


@strawberry.type(name="Resources")
class Resources:
    memory_mb: int | None = strawberry.field(description="Memory limit in MiB; null: none.")
    cpus: float | None
    pids_limit: int | None
    restart_policy: str

    @classmethod
    def of(cls, data: dict[str, Any] | None) -> Resources:
        values = stored_resources(data)
        return cls(memory_mb=values["memoryMb"], cpus=values["cpus"], pids_limit=values["pidsLimit"],
                   restart_policy=str(values["restartPolicy"]))


@strawberry.type(name="GitAuth", description="What the service's git authentication is, without its secrets.")
class GitAuth:
    kind: str = strawberry.field(description="https (a token) or ssh (a deploy key).")
    username: str | None


@strawberry.type(name="Service", directives=requires("service:read"))
class Service(Node):
    name: str
    source_type: SourceType
    auto_rollback: bool = strawberry.field(
        description="On a failed START or HEALTH, put the previous successful deployment's containers back "
        "(default true)."
    )
    deleted_at: datetime | None = strawberry.field(
        description="Set by deleteService: what the service ran is removed, its deployments stay readable, "
        "and it can no longer be deployed, rolled back or changed."
    )
    row: strawberry.Private[ServiceRow]

    @classmethod
    def of(cls, row: ServiceRow) -> Service:
        return cls(
            id=strawberry.ID(to_global_id("Service", row.pk)),
            name=row.name,
            source_type=row.source_type,
            auto_rollback=row.auto_rollback,
            deleted_at=row.deleted_at,
            row=row,
        )

    @strawberry.field
    async def project(self, info: strawberry.Info) -> Project:
        return Project.of(await info.context.loaders.project.load(self.row.project_id))

    @strawberry.field
    async def environment(self, info: strawberry.Info) -> Environment:
        return Environment.of(await info.context.loaders.environment.load(self.row.environment_id))

    @strawberry.field(description="Null (with FORBIDDEN) for a caller without server:read.")
    async def server(self, info: strawberry.Info) -> Server | None:
        row = await info.context.loaders.server.load(self.row.server_id)
        return Server.of(row) if row else None

    @strawberry.field(
        description="Declared source configuration as stored for the service now (secrets redacted)."
    )
    async def declared_config(self, info: strawberry.Info) -> JSON:
        from berth.domain.views import declared_config_view
        # The target's names come through the request's loaders (batched across services).
        loaders = info.context.loaders
        view = declared_config_view(
            self.row,
            server=await loaders.server.load(self.row.server_id),
            environment=await loaders.environment.load(self.row.environment_id),
            project=await loaders.project.load(self.row.project_id),
        )
        return cast(JSON, visible_document(info.context.require_principal(), Document.DECLARED_CONFIG, view))

    @strawberry.field
    def health_check(self) -> HealthCheckConfig | None:
        return HealthCheckConfig.of(self.row.health_check) if self.row.health_check else None

    @strawberry.field(description="How CLONE authenticates to the repository (null: anonymously).")
    def git_auth(self) -> GitAuth | None:
        view = git_auth_view(self.row.git_auth)
        return GitAuth(kind=view["kind"], username=view["username"]) if view else None

    @strawberry.field(description="What the service's containers may use (applied at its next deployment).")
    def resources(self) -> Resources | None:
        return Resources.of(self.row.resources)
    @strawberry.field
    def route(self) -> RouteT | None:
        from berth.schema.types.traffic import Route

        return Route.of(self.row.route) if self.row.route else None

    @strawberry.field(directives=requires("deploy:read"))
    async def latest_deployment(self, info: strawberry.Info) -> DeploymentT | None:
        from berth.schema.types.deployment import Deployment

        row = await info.context.loaders.latest_deployment.load(self.row.pk)
        return Deployment.of(row) if row else None

    @strawberry.field(directives=requires("deploy:read"))
    async def deployments(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: DeploymentFilterT | None = None,
    ) -> DeploymentConnectionT | None:
        from berth.schema.deployment_pages import resolve_deployments

        return await resolve_deployments(info, first, after, last, before, filter, service_id=self.row.pk)

    @strawberry.field(directives=requires("deploy:read"))
    async def last_observed_state(self, info: strawberry.Info) -> ObservedStateT | None:
        from berth.schema.types.deployment import ObservedState

        row = await info.context.loaders.latest_observation.load(self.row.pk)
        return ObservedState.of(row) if row else None

    @strawberry.field
    async def git_hooks(self) -> list[GitHookT] | None:
        from berth.schema.git_pages import resolve_service_hooks

        return await resolve_service_hooks(self.row.pk)  # type: ignore[return-value]

    @strawberry.field
    async def previews(self, status: PreviewStatus | None = None) -> list[PreviewEnvironmentT] | None:
        from berth.schema.git_pages import resolve_service_previews

        return await resolve_service_previews(self.row.pk, status)  # type: ignore[return-value]
