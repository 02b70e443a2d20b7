"""Who is calling (`Viewer`) and the API tokens they manage."""

from __future__ import annotations

from datetime import datetime

import strawberry

from berth.auth.principal import Principal
from berth.models import ApiToken as ApiTokenRow
from berth.schema.directives import requires
from berth.schema.ids import to_global_id
from berth.schema.types.common import Role, TokenKind
from berth.schema.types.node import Node


@strawberry.type(name="Viewer")
class Viewer:
    subject: str
    email: str | None
    role: Role | None
    token_kind: TokenKind
    scopes: list[str] = strawberry.field(
        description="Effective scopes after role, token and project restrictions."
    )
    project_ids: list[strawberry.ID] = strawberry.field(
        description="Project ids this credential is limited to; empty means all projects."
    )

    @classmethod
    def of(cls, principal: Principal) -> Viewer:
        return cls(
            subject=principal.subject,
            email=principal.email,
            role=principal.role,
            token_kind=principal.token_kind,
            scopes=sorted(principal.scopes),
            project_ids=[
                strawberry.ID(to_global_id("Project", pid)) for pid in sorted(principal.project_ids)
            ],
        )


@strawberry.type(name="ApiToken", directives=requires("tokens:manage"))
class ApiToken(Node):
    name: str
    prefix: str = strawberry.field(
        description="First characters of the token, safe to display (the secret is shown once, at creation)."
    )
    role: Role
    scopes: list[str]
    project_ids: list[strawberry.ID]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_by: str

    @classmethod
    def of(cls, row: ApiTokenRow) -> ApiToken:
        return cls(
            id=strawberry.ID(to_global_id("ApiToken", row.pk)),
            name=row.name,
            prefix=row.prefix,
            role=row.role,
            scopes=list(row.scopes),
            project_ids=[strawberry.ID(to_global_id("Project", int(pid))) for pid in row.project_ids],
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
            created_by=row.created_by,
        )
