"""The audit trail: one append-only row for everything someone did or tried.

Rows are written in the transaction of the change they record and never changed or
deleted by the API; on PostgreSQL a trigger (created by the migration) refuses UPDATE
and DELETE unless the transaction set `berth.audit_prune` (the retention pruner only).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class AuditOutcome(StrEnum):
    OK = "OK"
    # Refused by scope or by input: nothing changed.
    REFUSED = "REFUSED"
    # An unexpected error: nothing changed (the transaction rolled back).
    FAILED = "FAILED"


class AuditEvent(Model):
    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField()
    # Dotted verb: deployment.start, token.revoke, githook.delivery, auth.refused …
    action = fields.CharField(max_length=64)
    # The `Actor` JSON of the principal (as Deployment.actor); null when no credential was valid.
    actor: Any = fields.JSONField(null=True)
    # Copied out of `actor` so `subject` filters use an index.
    actor_subject = fields.CharField(max_length=255, null=True)
    outcome = fields.CharEnumField(AuditOutcome, max_length=8)
    # The schema type name and primary key of what the action was about.
    target_type = fields.CharField(max_length=64, null=True)
    target_pk = fields.BigIntField(null=True)
    # How a person reads the target (`project/env/service #N`), as it was named at the time.
    target_label = fields.CharField(max_length=255, null=True)
    # The project the target belongs to: what a project-limited credential may see.
    project_id = fields.BigIntField(null=True)
    request_id = fields.CharField(max_length=64, null=True)
    remote_address = fields.CharField(max_length=64, null=True)
    # What was asked and what changed, secrets redacted before they got here.
    details: Any = fields.JSONField()

    class Meta:
        table = "audit_event"
        indexes = (
            Index(fields=("at", "id")),
            Index(fields=("action", "at")),
            Index(fields=("actor_subject", "at")),
            Index(fields=("target_type", "target_pk")),
            Index(fields=("project_id", "at")),
        )
