"""`node(id:)`: any object by global id, with the scopes of the type it returns."""

from __future__ import annotations

from typing import Any

import strawberry

from berth.auth.api_tokens import get_manageable_token
from berth.domain.audit import get_visible_event
from berth.domain.git_hooks import get_visible_delivery, get_visible_hook
from berth.domain.notifications import get_visible_delivery as get_visible_notification
from berth.domain.previews import get_visible_preview
from berth.domain.queries import get_visible
from berth.models import ApiToken as ApiTokenRow
from berth.models import AuditEvent as AuditEventRow
from berth.models import Deployment as DeploymentRow
from berth.models import Environment as EnvironmentRow
from berth.models import Project as ProjectRow
from berth.models import RegistryCredential as RegistryCredentialRow
from berth.models import Server as ServerRow
from berth.models import Service as ServiceRow
from berth.models.git import GitHook as GitHookRow
from berth.models.git import PreviewEnvironment as PreviewRow
from berth.models.git import WebhookDelivery as WebhookDeliveryRow
from berth.models.notifications import NotificationChannel as NotificationChannelRow
from berth.models.notifications import NotificationDelivery as NotificationDeliveryRow
from berth.resolvers.common import principal_of
from berth.schema.ids import from_global_id
from berth.schema.types.audit import AuditEvent
from berth.schema.types.deployment import Deployment
from berth.schema.types.git import GitHook, PreviewEnvironment, WebhookDelivery
from berth.schema.types.identity import ApiToken
from berth.schema.types.inventory import Environment, Project, Server, Service
from berth.schema.types.node import Node
from berth.schema.types.notifications import NotificationChannel, NotificationDelivery
from berth.schema.types.registry import RegistryCredential

NODE_TYPES: dict[str, tuple[type[Any], Any]] = {
    "Deployment": (DeploymentRow, Deployment),
    "Service": (ServiceRow, Service),
    "Project": (ProjectRow, Project),
    "Environment": (EnvironmentRow, Environment),
    "Server": (ServerRow, Server),
    "ApiToken": (ApiTokenRow, ApiToken),
    "GitHook": (GitHookRow, GitHook),
    "WebhookDelivery": (WebhookDeliveryRow, WebhookDelivery),
    "RegistryCredential": (RegistryCredentialRow, RegistryCredential),
    "PreviewEnvironment": (PreviewRow, PreviewEnvironment),
    # Channels carry their project (the ordinary rule); deliveries go by their channel.
    "NotificationChannel": (NotificationChannelRow, NotificationChannel),
    "NotificationDelivery": (NotificationDeliveryRow, NotificationDelivery),
    # Entries without a project are hidden from project-limited credentials.
    "AuditEvent": (AuditEventRow, AuditEvent),
}


async def resolve_node(info: strawberry.Info, id: strawberry.ID) -> Node | None:
    decoded = from_global_id(id)
    if decoded is None or decoded[0] not in NODE_TYPES:
        return None
    type_name, pk = decoded
    # The interface field carries no scopes: apply those of the concrete type, as an edge would.
    required = info.context.type_scopes.get(type_name, frozenset())
    denial = info.context.denial(required)
    if denial is not None:
        raise denial
    model, gql_type = NODE_TYPES[type_name]
    row: Any
    if model is ApiTokenRow:
        row = await get_manageable_token(principal_of(info), pk)
    elif model is GitHookRow:  # hooks and deliveries carry no project: their service's rule
        row = await get_visible_hook(principal_of(info), pk)
    elif model is WebhookDeliveryRow:
        row = await get_visible_delivery(principal_of(info), pk)
    elif model is PreviewRow:
        row = await get_visible_preview(principal_of(info), pk)
    elif model is NotificationDeliveryRow:
        row = await get_visible_notification(principal_of(info), pk)
    elif model is AuditEventRow:
        row = await get_visible_event(principal_of(info), pk)
    else:
        row = await get_visible(principal_of(info), model, pk)
    return gql_type.of(row) if row is not None else None  # type: ignore[no-any-return]
