"""The audit trail as the schema shows it (contract v2, operations.graphql)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from berth.models.audit import AuditEvent as AuditEventRow
from berth.models.audit import AuditOutcome
from berth.schema.directives import requires
from berth.schema.ids import to_global_id
from berth.schema.types.common import PageInfo
from berth.schema.types.deployment import Actor
from berth.schema.types.node import Node

strawberry.enum(AuditOutcome)


@strawberry.type(
    name="AuditEvent",
    directives=requires("audit:read"),
    description="One thing someone did or tried: every mutation, every refused credential, "
    "every git hook delivery.",
)
class AuditEvent(Node):
    at: datetime
    action: str = strawberry.field(
        description="Dotted verb: deployment.start, deployment.cancel, deployment.rollback, service.update, "
        "server.create, token.create, token.revoke, githook.delivery, auth.refused, …"
    )
    actor: Actor | None = strawberry.field(description="Null when no credential was valid (auth.refused).")
    outcome: AuditOutcome
    target_type: str | None
    target_id: strawberry.ID | None
    request_id: str | None = strawberry.field(
        description="The request id that error messages and the server log carry."
    )
    remote_address: str | None = strawberry.field(description="Client address as the server saw it.")
    details: JSON = strawberry.field(description="What was asked and what changed, secrets redacted.")
    row: strawberry.Private[AuditEventRow]

    @classmethod
    def of(cls, row: AuditEventRow) -> AuditEvent:
        target = (
            strawberry.ID(to_global_id(row.target_type, row.target_pk))
            if row.target_type is not None and row.target_pk is not None
            else None
        )
        details = dict(row.details or {})
        if row.target_label:
            details.setdefault("target", row.target_label)
        return cls(
            id=strawberry.ID(to_global_id("AuditEvent", row.pk)),
            at=row.at,
            action=row.action,
            actor=Actor.of(row.actor) if row.actor else None,
            outcome=row.outcome,
            target_type=row.target_type,
            target_id=target,
            request_id=row.request_id,
            remote_address=row.remote_address,
            details=cast(JSON, details),
            row=row,
        )


@strawberry.input(name="AuditFilter")
class AuditFilter:
    action: str | None = strawberry.field(
        default=None, description="Exact action, or a prefix such as deployment.*"
    )
    subject: str | None = strawberry.field(default=None, description="The actor's subject.")
    target_id: strawberry.ID | None = None
    since: datetime | None = None
    until: datetime | None = None


@strawberry.type(name="AuditEventEdge")
class AuditEventEdge:
    cursor: str
    node: AuditEvent


@strawberry.type(name="AuditEventConnection")
class AuditEventConnection:
    edges: list[AuditEventEdge]
    page_info: PageInfo
    total_count: int | None
