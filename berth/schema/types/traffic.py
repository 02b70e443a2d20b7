"""Routes through each server's proxy (issue 16): `Route`, `ServerProxy`, `ProxyUpstream`.

`ServerProxy` shows what the runner last read from the proxy itself (`Server.proxy_status`,
written by `berth.runner.proxy` after each switch and observation), never the database's wish.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from berth.domain.queries import get_visible
from berth.models import Deployment as DeploymentRow
from berth.models import Service as ServiceRow
from berth.schema.directives import requires

if TYPE_CHECKING:
    from berth.schema.types.deployment import Deployment

DeploymentT = Annotated["Deployment", strawberry.lazy("berth.schema.types.deployment")]


@strawberry.type(
    name="Route",
    description="Where a service answers through its server's proxy. With a route, traffic moves to a new "
    "version only after it is healthy.",
)
class Route:
    host: str = strawberry.field(description="Host name the proxy matches (e.g. web.example.com).")
    path_prefix: str | None = strawberry.field(
        description="Optional path prefix; longest prefix wins among a server's routes.")
    container_port: int = strawberry.field(description="Port inside the container that receives the traffic.")
    compose_service: str | None = strawberry.field(description="COMPOSE: the compose service that receives it.")
    drain_seconds: int = strawberry.field(
        description="Seconds the old version keeps serving requests already in flight after the switch.")

    @classmethod
    def of(cls, data: dict[str, Any]) -> Route:
        return cls(host=data["host"], path_prefix=data.get("pathPrefix"),
                   container_port=int(data["containerPort"]), compose_service=data.get("composeService"),
                   drain_seconds=int(data.get("drainSeconds") or 0))


@strawberry.enum(name="ProxyState")
class ProxyState(Enum):
    ABSENT = "ABSENT"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    FAILED = "FAILED"


@strawberry.type(name="ProxyUpstream")
class ProxyUpstream:
    host: str
    path_prefix: str | None
    upstream: str
    deployment_id: strawberry.Private[int | None]

    @strawberry.field(directives=requires("deploy:read"))
    async def deployment(self, info: strawberry.Info) -> DeploymentT | None:
        from berth.schema.types.deployment import Deployment

        if self.deployment_id is None:
            return None
        # A credential limited to projects sees only its projects' deployments.
        row = await get_visible(info.context.require_principal(), DeploymentRow, self.deployment_id)
        return Deployment.of(row) if row else None


@strawberry.type(name="ServerProxy",
                 description="The proxy container that Berth runs on a server once a service there has a route.")
class ServerProxy:
    state: ProxyState
    image: str | None
    http_address: str | None = strawberry.field(
        description="host:port it listens on for HTTP, as published on the server.")
    upstreams: list[ProxyUpstream] = strawberry.field(
        description="The upstream each host/prefix points at now, as the proxy itself reports it.")
    server_id: strawberry.Private[int]

    @strawberry.field
    async def routes(self) -> int:
        return await ServiceRow.filter(server_id=self.server_id, deleted_at__isnull=True,
                                       route__isnull=False).count()

    @classmethod
    def of(cls, server_id: int, status: dict[str, Any] | None) -> ServerProxy:
        status = status or {}
        return cls(
            state=ProxyState(status.get("state") or "ABSENT"),
            image=status.get("image"),
            http_address=status.get("httpAddress"),
            upstreams=[ProxyUpstream(host=u["host"], path_prefix=u.get("pathPrefix"), upstream=u["upstream"],
                                     deployment_id=u.get("deploymentId"))
                       for u in status.get("upstreams") or []],
            server_id=server_id,
        )
