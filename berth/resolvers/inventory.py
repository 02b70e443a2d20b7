"""The `Query` lists of inventory and tokens, and `service(id:)`: the domain decides visibility."""

from __future__ import annotations

import strawberry

from berth.auth.api_tokens import manageable_tokens
from berth.domain.queries import all_servers, get_visible, visible_projects
from berth.models import Service as ServiceRow
from berth.resolvers.common import principal_of
from berth.schema.ids import pk_of
from berth.schema.types.identity import ApiToken
from berth.schema.types.inventory import Project, Server, Service


async def resolve_servers() -> list[Server]:
    return [Server.of(row) for row in await all_servers()]


async def resolve_projects(info: strawberry.Info) -> list[Project]:
    return [Project.of(row) for row in await visible_projects(principal_of(info))]


async def resolve_service(info: strawberry.Info, id: strawberry.ID) -> Service | None:
    pk = pk_of(id, "Service")
    row = await get_visible(principal_of(info), ServiceRow, pk) if pk is not None else None
    return Service.of(row) if row else None


async def resolve_api_tokens(info: strawberry.Info) -> list[ApiToken]:
    return [ApiToken.of(row) for row in await manageable_tokens(principal_of(info))]
