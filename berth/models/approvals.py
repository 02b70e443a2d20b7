"""Approval decisions on deployments into protected environments: immutable rows."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from berth.models.deployment import Deployment


class ApprovalDecision(Model):
    """One principal's approval or rejection; never updated or deleted (apart from the cascade)."""

    id = fields.BigIntField(primary_key=True)
    deployment: fields.ForeignKeyRelation[Deployment] = fields.ForeignKeyField(
        "models.Deployment", related_name="approval_decisions", on_delete=fields.CASCADE
    )
    # Who decided: the principal's subject (what "distinct principals" counts) and the
    # `Actor` JSON as `Deployment.actor` records it.
    subject = fields.CharField(max_length=255)
    actor: Any = fields.JSONField()
    approved = fields.BooleanField()
    comment = fields.TextField(null=True)
    at = fields.DatetimeField()
    deployment_id: int

    class Meta:
        table = "approval_decision"
        indexes = (("deployment_id", "id"),)
