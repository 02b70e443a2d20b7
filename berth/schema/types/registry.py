"""Registry credentials (contract v2, sources): what a project pulls private images with."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from berth.models import RegistryCredential as RegistryCredentialRow
from berth.schema.directives import requires
from berth.schema.ids import to_global_id
from berth.schema.types.common import UserError
from berth.schema.types.node import Node

if TYPE_CHECKING:
    from berth.schema.types.inventory import Project

ProjectT = Annotated["Project", strawberry.lazy("berth.schema.types.inventory")]


@strawberry.type(
    name="RegistryCredential",
    description="Credentials for one registry, used for every pull and build of the project's services on "
    "any server.",
    directives=requires("service:read"),
)
class RegistryCredential(Node):
    registry: str = strawberry.field(
        description="host[:port] as image references name it, e.g. registry.example.com or 127.0.0.1:5443."
    )
    username: str
    created_at: datetime
    last_used_at: datetime | None = strawberry.field(
        description="When a deployment last gave these credentials to a daemon or to compose."
    )
    row: strawberry.Private[RegistryCredentialRow]

    @classmethod
    def of(cls, row: RegistryCredentialRow) -> RegistryCredential:
        return cls(
            id=strawberry.ID(to_global_id("RegistryCredential", row.pk)),
            registry=row.registry,
            username=row.username,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            row=row,
        )

    @strawberry.field
    async def project(self, info: strawberry.Info) -> ProjectT | None:
        from berth.schema.types.inventory import Project

        return Project.of(await info.context.loaders.project.load(self.row.project_id))


@strawberry.input(name="CreateRegistryCredentialInput")
class CreateRegistryCredentialInput:
    project_id: strawberry.ID
    registry: str
    username: str
    password: str = strawberry.field(description="Stored encrypted; never returned, logged or put into a record.")


@strawberry.type(name="RegistryCredentialPayload")
class RegistryCredentialPayload:
    registry_credential: RegistryCredential | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
