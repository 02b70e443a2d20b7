"""The immutable deployment record and what hangs off it: steps, logs, events, observations."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from berth.models.enums import (
    ApprovalState,
    DeploymentConclusion,
    DeploymentEventType,
    DeploymentStatus,
    DeploymentTrigger,
    DriftStatus,
    LogStream,
    StepKind,
    StepStatus,
)
from berth.models.inventory import Environment, Project, Server, Service

_EVENT_TYPE_COMMENT = "\n".join(
    f"{name}: {name}" for name in ("CREATED", "STATUS_CHANGED", "STEP_CHANGED", "CANCEL_REQUESTED", "CONCLUDED")
)


class Deployment(Model):
    id = fields.BigIntField(primary_key=True)
    service: fields.ForeignKeyRelation[Service] = fields.ForeignKeyField(
        "models.Service", related_name="deployments", on_delete=fields.CASCADE
    )
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "models.Project", related_name="deployments", on_delete=fields.CASCADE
    )
    environment: fields.ForeignKeyRelation[Environment] = fields.ForeignKeyField(
        "models.Environment", related_name="deployments", on_delete=fields.CASCADE
    )
    server: fields.ForeignKeyRelation[Server] = fields.ForeignKeyField(
        "models.Server", related_name="deployments", on_delete=fields.RESTRICT
    )
    number = fields.IntField()
    status = fields.CharEnumField(DeploymentStatus, max_length=16, default=DeploymentStatus.QUEUED)
    conclusion = fields.CharEnumField(DeploymentConclusion, max_length=16, null=True)
    trigger = fields.CharEnumField(DeploymentTrigger, max_length=16)
    # {"subject", "email", "role", "tokenKind", "tokenName"} taken from the credential.
    actor: Any = fields.JSONField()
    # DeploymentInput fields (sourceType, image, imageTag, imageDigest, commitSha, ...).
    input: Any = fields.JSONField()
    config_snapshot: Any = fields.JSONField()
    declared_config: Any = fields.JSONField()
    frozen_input: Any = fields.JSONField()
    # Secret env values needed to replay the frozen input, encrypted; never shown.
    frozen_secrets_enc = fields.TextField(null=True)
    # {"step", "code", "message"} once failed.
    error: Any = fields.JSONField(null=True)
    reason = fields.TextField(null=True)
    # The reason given to cancelDeployment (queued or running); `reason` is the starter's.
    cancel_reason = fields.TextField(null=True)
    created_at = fields.DatetimeField()
    started_at = fields.DatetimeField(null=True)
    concluded_at = fields.DatetimeField(null=True)
    cancel_requested_at = fields.DatetimeField(null=True)
    rollback_of: fields.ForeignKeyNullableRelation[Deployment] = fields.ForeignKeyField(
        "models.Deployment", related_name="rollbacks", null=True, on_delete=fields.SET_NULL
    )
    # A pull request's preview this deployment runs in; null for the service itself.
    preview: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "models.PreviewEnvironment", related_name="deployments", null=True, on_delete=fields.RESTRICT
    )
    # Runner claim: who holds it, until when, and which attempt (fencing token for every write).
    claimed_by = fields.CharField(max_length=128, null=True)
    lease_expires_at = fields.DatetimeField(null=True)
    attempt = fields.IntField(default=0)
    # Last seq handed out for log lines and events; bumped under the row lock so seqs stay gap-free.
    last_log_seq = fields.IntField(default=0)
    last_event_seq = fields.IntField(default=0)
    # Retention (berth.domain.retention): when this deployment's log lines were pruned; the
    # record itself stays whole. Null while its lines are kept.
    logs_pruned_at = fields.DatetimeField(null=True)
    # The environment's requiredApprovals when the deployment was queued (frozen then), and
    # where it stands: PENDING keeps it out of the queue (berth.domain.approvals).
    approvals_required = fields.IntField(default=0)
    approval_state = fields.CharEnumField(ApprovalState, max_length=16, default=ApprovalState.NOT_REQUIRED)
    service_id: int
    project_id: int
    environment_id: int
    server_id: int
    rollback_of_id: int | None
    preview_id: int | None

    class Meta:
        table = "deployment"
        unique_together = (("service", "number"),)
        indexes = (
            Index(fields=("service_id", "created_at")),
            Index(fields=("server_id", "status")),
            Index(fields=("created_at", "id")),
            Index(fields=("status", "id")),
            # Retention finds deployments whose logs are due by these two.
            Index(fields=("logs_pruned_at", "concluded_at")),
        )


class DeploymentStep(Model):
    id = fields.BigIntField(primary_key=True)
    deployment: fields.ForeignKeyRelation[Deployment] = fields.ForeignKeyField(
        "models.Deployment", related_name="steps", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(StepKind, max_length=16)
    position = fields.SmallIntField()
    status = fields.CharEnumField(StepStatus, max_length=16, default=StepStatus.PENDING)
    started_at = fields.DatetimeField(null=True)
    completed_at = fields.DatetimeField(null=True)
    detail = fields.TextField(null=True)
    deployment_id: int

    class Meta:
        table = "deployment_step"
        unique_together = (("deployment", "kind"),)


class LogLine(Model):
    id = fields.BigIntField(primary_key=True)
    deployment: fields.ForeignKeyRelation[Deployment] = fields.ForeignKeyField(
        "models.Deployment", related_name="log_lines", on_delete=fields.CASCADE
    )
    seq = fields.IntField()
    timestamp = fields.DatetimeField()
    stream = fields.CharEnumField(LogStream, max_length=8)
    step = fields.CharEnumField(StepKind, max_length=16, null=True)
    text = fields.TextField()
    deployment_id: int

    class Meta:
        table = "log_line"
        unique_together = (("deployment", "seq"),)


class DeploymentEvent(Model):
    id = fields.BigIntField(primary_key=True)
    deployment: fields.ForeignKeyRelation[Deployment] = fields.ForeignKeyField(
        "models.Deployment", related_name="events", on_delete=fields.CASCADE
    )
    seq = fields.IntField()
    # The column comment stays the one first migrated (aerich cannot alter a column comment on
    # SQLite); DeploymentEventType lists every type, APPROVAL_DECIDED included.
    type = fields.CharEnumField(DeploymentEventType, max_length=24, description=_EVENT_TYPE_COMMENT)
    at = fields.DatetimeField()
    # Snapshots as they were right after the event, not today's values.
    status = fields.CharEnumField(DeploymentStatus, max_length=16)
    conclusion = fields.CharEnumField(DeploymentConclusion, max_length=16, null=True)
    step: Any = fields.JSONField(null=True)
    payload: Any = fields.JSONField(default=dict)
    deployment_id: int

    class Meta:
        table = "deployment_event"
        unique_together = (("deployment", "seq"),)
        indexes = (Index(fields=("id",)),)


class Observation(Model):
    id = fields.BigIntField(primary_key=True)
    service: fields.ForeignKeyRelation[Service] = fields.ForeignKeyField(
        "models.Service", related_name="observations", on_delete=fields.CASCADE
    )
    observed_at = fields.DatetimeField()
    drift = fields.CharEnumField(DriftStatus, max_length=16)
    containers: Any = fields.JSONField(default=list)
    differences: Any = fields.JSONField(default=list)
    compared_with: fields.ForeignKeyNullableRelation[Deployment] = fields.ForeignKeyField(
        "models.Deployment", related_name="observations", null=True, on_delete=fields.SET_NULL
    )
    service_id: int
    compared_with_id: int | None

    class Meta:
        table = "observation"
        indexes = (Index(fields=("service_id", "observed_at")),)


class IdempotencyKey(Model):
    """One row per (subject, mutation, key): the unique constraint is what makes retries safe.

    Kept apart from the deployment so an expired key (24 h) can be reused without touching
    the immutable record.
    """

    id = fields.BigIntField(primary_key=True)
    subject = fields.CharField(max_length=255)
    mutation = fields.CharField(max_length=64)
    key = fields.CharField(max_length=255)
    request_hash = fields.CharField(max_length=64)
    deployment: fields.ForeignKeyRelation[Deployment] = fields.ForeignKeyField(
        "models.Deployment", related_name="idempotency_keys", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField()

    class Meta:
        table = "idempotency_key"
        unique_together = (("subject", "mutation", "key"),)
