"""Notification channels and their deliveries (contract v2, operations.graphql)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from berth.models.enums import NotificationDeliveryStatus, NotificationKind
from berth.models.notifications import NotificationChannel as ChannelRow
from berth.models.notifications import NotificationDelivery as DeliveryRow
from berth.schema.directives import requires
from berth.schema.ids import to_global_id
from berth.schema.types.common import PageInfo, UserError
from berth.schema.types.node import Node

if TYPE_CHECKING:
    from berth.schema.types.deployment import Deployment
    from berth.schema.types.inventory import Project

DeploymentT = Annotated["Deployment", strawberry.lazy("berth.schema.types.deployment")]
ProjectT = Annotated["Project", strawberry.lazy("berth.schema.types.inventory")]

strawberry.enum(NotificationKind)
strawberry.enum(NotificationDeliveryStatus)


@strawberry.type(
    name="NotificationChannel",
    directives=requires("service:read"),
    description="Where a project's deployment events are sent. The URL is never shown.",
)
class NotificationChannel(Node):
    name: str
    kind: NotificationKind
    events: list[str] = strawberry.field(
        description="Patterns such as deployment.failed, deployment.succeeded, deployment.canceled, "
        "deployment.started, deployment.*"
    )
    created_at: datetime
    row: strawberry.Private[ChannelRow]

    @classmethod
    def of(cls, row: ChannelRow) -> NotificationChannel:
        return cls(
            id=strawberry.ID(to_global_id("NotificationChannel", row.pk)),
            name=row.name,
            kind=row.kind,
            events=list(row.events),
            created_at=row.created_at,
            row=row,
        )

    @strawberry.field
    async def project(self, info: strawberry.Info) -> ProjectT | None:
        from berth.schema.types.inventory import Project

        row = await info.context.loaders.project.load(self.row.project_id)
        return Project.of(row) if row else None

    @strawberry.field
    async def deliveries(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> NotificationDeliveryConnection | None:
        from berth.schema.notification_pages import resolve_deliveries

        return await resolve_deliveries(self.row.pk, first, after)


@strawberry.type(
    name="NotificationDelivery",
    directives=requires("service:read"),
    description="One event for one channel: its attempts and the receiver's last answer.",
)
class NotificationDelivery(Node):
    event: str
    status: NotificationDeliveryStatus
    attempts: int
    response_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    row: strawberry.Private[DeliveryRow]

    @classmethod
    def of(cls, row: DeliveryRow) -> NotificationDelivery:
        return cls(
            id=strawberry.ID(to_global_id("NotificationDelivery", row.pk)),
            event=row.event,
            status=row.status,
            attempts=row.attempts,
            response_status=row.response_status,
            last_error=row.last_error,
            created_at=row.created_at,
            delivered_at=row.delivered_at,
            row=row,
        )

    @strawberry.field
    async def deployment(self, info: strawberry.Info) -> DeploymentT | None:
        from berth.schema.types.deployment import Deployment

        pk = self.row.deployment_id
        if pk is None:
            return None
        row = await info.context.loaders.deployment.load(pk)
        return Deployment.of(row) if row else None


@strawberry.type(name="NotificationDeliveryEdge")
class NotificationDeliveryEdge:
    cursor: str
    node: NotificationDelivery


@strawberry.type(name="NotificationDeliveryConnection")
class NotificationDeliveryConnection:
    edges: list[NotificationDeliveryEdge]
    page_info: PageInfo
    total_count: int | None


@strawberry.input(name="CreateNotificationChannelInput")
class CreateNotificationChannelInput:
    project_id: strawberry.ID
    name: str
    kind: NotificationKind
    url: str = strawberry.field(description="http(s) URL; stored encrypted (Slack and Discord URLs are credentials).")
    events: list[str]


@strawberry.type(name="NotificationChannelPayload")
class NotificationChannelPayload:
    errors: list[UserError]
    channel: NotificationChannel | None = None
    secret: str | None = strawberry.field(
        default=None, description="WEBHOOK: the HMAC-SHA256 signing secret, shown only in this response."
    )
