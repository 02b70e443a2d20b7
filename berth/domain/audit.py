"""The audit trail's rules: which action each mutation is, what an entry says about its
target, what it keeps of the request (secrets redacted), and who may read it.

Entries are written on the caller's connection, so one written inside a transaction
commits or rolls back with the change it records. Nothing here updates or deletes an
entry; `berth.domain.audit_retention` is the one sanctioned deleter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from berth.auth.principal import Principal
from berth.domain import audit_refusals
from berth.domain.names import deployment_name
from berth.domain.secrets import REDACTED, redact
from berth.models import (
    ApiToken,
    AuditEvent,
    Deployment,
    Environment,
    Project,
    RegistryCredential,
    Server,
    Service,
)
from berth.models.audit import AuditOutcome
from berth.models.git import GitHook, PreviewEnvironment, WebhookDelivery
from berth.models.lifecycle import now
from berth.models.notifications import NotificationChannel

# Every Mutation field and the action its entries carry: the one table. A mutation missing
# here still gets entries (as `mutation.<field>`), and tests/schema/test_audit_trail.py
# (which walks the printed schema) fails until it is added — one line per mutation, e.g.
# "updateEnvironment": "environment.update", "approveDeployment": "deployment.approve".
ACTIONS: dict[str, str] = {
    "startDeployment": "deployment.start",
    "cancelDeployment": "deployment.cancel",
    "rollbackDeployment": "deployment.rollback",
    "createServer": "server.create",
    "createProject": "project.create",
    "createService": "service.create",
    "updateService": "service.update",
    "deleteService": "service.delete",
    "createApiToken": "token.create",
    "revokeApiToken": "token.revoke",
    "createGitHook": "githook.create",
    "deleteGitHook": "githook.delete",
    "redeliverWebhook": "githook.redeliver",
    "closePreview": "preview.close",
    "createRegistryCredential": "registry_credential.create",
    "deleteRegistryCredential": "registry_credential.delete",
    "createNotificationChannel": "notification_channel.create",
    "deleteNotificationChannel": "notification_channel.delete",
    "testNotificationChannel": "notification_channel.test",
    "updateEnvironment": "environment.update",
    "approveDeployment": "deployment.approve",
    "rejectDeployment": "deployment.reject",
}
GITHOOK_DELIVERY = "githook.delivery"
AUTH_REFUSED = audit_refusals.AUTH_REFUSED

# Input fields whose values are credentials (registry passwords, git and provider tokens,
# private keys, notification URLs, which for Slack and Discord are the credential). Env
# entries marked `secret` and `*Enc` fields are handled by `berth.domain.secrets.redact`.
SECRET_INPUTS = frozenset({"password", "token", "statusToken", "sshPrivateKey", "tlsClientKey", "url"})
MAX_LABEL = 255


def action_of(mutation_field: str) -> str:
    return ACTIONS.get(mutation_field) or f"mutation.{mutation_field}"


# The types an entry's target may have: those `describe` knows (and ids of no other type a
# caller made up reach no column).
TARGET_TYPES = frozenset({
    "Deployment", "Service", "Project", "Environment", "Server", "ApiToken", "GitHook", "PreviewEnvironment",
    "WebhookDelivery", "RegistryCredential", "NotificationChannel", "NotificationDelivery",
})


def redact_input(value: Any) -> Any:
    """A request's arguments as an entry keeps them: every secret value `***`."""
    if isinstance(value, list):
        return [redact_input(item) for item in value]
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")  # PostgreSQL's jsonb cannot hold NUL
    if not isinstance(value, dict):
        return value
    # Arguments left out (null) are dropped: the entry keeps what was actually asked.
    cleaned = {
        key: REDACTED if key in SECRET_INPUTS else redact_input(item)
        for key, item in value.items() if item is not None
    }
    return redact(cleaned)


@dataclass
class Entry:
    action: str
    outcome: AuditOutcome
    actor: dict[str, Any] | None = None
    target_type: str | None = None
    target_pk: int | None = None
    target_label: str | None = None
    project_id: int | None = None
    request_id: str | None = None
    remote_address: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def actor_of(principal: Principal | None) -> dict[str, Any] | None:
    return principal.actor() if principal is not None else None


async def write(entry: Entry, conn: BaseDBAsyncClient | None = None) -> AuditEvent:
    """Insert the entry on `conn` (the change's transaction), or on its own."""
    subject = entry.actor.get("subject") if entry.actor else None
    return await AuditEvent.create(
        using_db=conn,
        at=now(),
        action=entry.action,
        actor=entry.actor,
        actor_subject=subject[:255] if isinstance(subject, str) else None,
        outcome=entry.outcome,
        target_type=entry.target_type,
        target_pk=entry.target_pk,
        target_label=entry.target_label[:MAX_LABEL] if entry.target_label else None,
        project_id=entry.project_id,
        request_id=entry.request_id,
        remote_address=(entry.remote_address or None) and entry.remote_address[:64],  # type: ignore[index]
        details=entry.details,
    )


# ---------------------------------------------------------------- targets


async def _service_facts(service_id: int | None) -> tuple[str | None, int | None]:
    # One joined read: an entry is written on the mutation's hot path.
    rows = await Service.filter(id=service_id).values(
        "name", "project_id", "project__name", "environment__name") if service_id is not None else []
    if not rows:
        return None, None
    row = rows[0]
    return f"{row['project__name']}/{row['environment__name']}/{row['name']}", row["project_id"]


async def describe(target_type: str, pk: int) -> tuple[str | None, int | None]:
    """(how a person reads the target, its project id) as they are now; (None, None) when
    the row is gone or the type is not one Berth labels."""
    if target_type == "Deployment":
        rows = await Deployment.filter(id=pk).values(
            "number", "project_id", "project__name", "environment__name", "service__name")
        if not rows:
            return None, None
        row = rows[0]
        name = deployment_name(row["project__name"], row["environment__name"], row["service__name"], row["number"])
        return name, row["project_id"]
    if target_type == "Service":
        return await _service_facts(pk)
    if target_type == "Project":
        project = await Project.get_or_none(id=pk)
        return (project.name, project.id) if project else (None, None)
    if target_type == "Environment":
        environment = await Environment.get_or_none(id=pk)
        if environment is None:
            return None, None
        project = await Project.get_or_none(id=environment.project_id)  # type: ignore[attr-defined]
        label = f"{project.name if project else '?'}/{environment.name}"
        return label, environment.project_id  # type: ignore[attr-defined]
    if target_type == "Server":
        server = await Server.get_or_none(id=pk)
        return (server.name, None) if server else (None, None)
    if target_type == "ApiToken":
        token = await ApiToken.get_or_none(id=pk)
        return (f"token {token.name}", None) if token else (None, None)
    if target_type in ("GitHook", "PreviewEnvironment", "WebhookDelivery"):
        return await _hook_facts(target_type, pk)
    if target_type == "RegistryCredential":
        credential = await RegistryCredential.get_or_none(id=pk)
        if credential is None:
            return None, None
        return f"registry {credential.registry}", credential.project_id  # type: ignore[attr-defined]
    if target_type == "NotificationChannel":
        channel = await NotificationChannel.get_or_none(id=pk)
        return (f"channel {channel.name}", channel.project_id) if channel else (None, None)
    return None, None


async def _hook_facts(target_type: str, pk: int) -> tuple[str | None, int | None]:
    if target_type == "PreviewEnvironment":
        preview = await PreviewEnvironment.get_or_none(id=pk)
        if preview is None:
            return None, None
        label, project_id = await _service_facts(preview.service_id)
        return f"{label} pull request #{preview.pull_request}", project_id
    hook_id: int | None = pk
    if target_type == "WebhookDelivery":
        delivery = await WebhookDelivery.get_or_none(id=pk)
        hook_id = delivery.hook_id if delivery else None  # type: ignore[attr-defined]
    hook = await GitHook.get_or_none(id=hook_id) if hook_id is not None else None
    if hook is None:
        return None, None
    label, project_id = await _service_facts(hook.service_id)
    return f"git hook {hook.repository} → {label}", project_id


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class AuditQuery:
    action: str | None = None
    subject: str | None = None
    # The decoded targetId; `unknown_target` when it decodes to nothing (matches nothing).
    target: tuple[str, int] | None = None
    unknown_target: bool = False
    since: datetime | None = None
    until: datetime | None = None


def visible_events(principal: Principal, query: AuditQuery) -> Any:
    """Entries `principal` may read that match `query`. A project-limited credential reads
    only entries of its projects: entries without a project (servers, tokens, refused
    credentials) are installation-wide and hidden from it."""
    rows = AuditEvent.all()
    if principal.is_project_limited:
        rows = rows.filter(project_id__in=sorted(principal.project_ids))
    if query.action:
        if query.action.endswith(".*"):
            rows = rows.filter(action__startswith=query.action[:-1])
        else:
            rows = rows.filter(action=query.action)
    if query.subject:
        rows = rows.filter(actor_subject=query.subject)
    if query.unknown_target:
        rows = rows.filter(id__lt=0)
    elif query.target is not None:
        rows = rows.filter(target_type=query.target[0], target_pk=query.target[1])
    if query.since is not None:
        rows = rows.filter(at__gte=query.since)
    if query.until is not None:
        rows = rows.filter(at__lte=query.until)
    return rows


async def get_visible_event(principal: Principal, pk: int) -> AuditEvent | None:
    row = await AuditEvent.get_or_none(id=pk)
    if row is None or (principal.is_project_limited and row.project_id not in principal.project_ids):
        return None
    return row
