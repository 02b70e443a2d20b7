"""Notification channels of a project, and the outbox of deliveries to them."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from berth.models.enums import NotificationDeliveryStatus, NotificationKind
from berth.models.inventory import Project


class NotificationChannel(Model):
    id = fields.BigIntField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "models.Project", related_name="notification_channels", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100)
    kind = fields.CharEnumField(NotificationKind, max_length=8)
    # Fernet-encrypted: a Slack or Discord incoming-webhook URL is itself the credential.
    url_enc = fields.TextField()
    # WEBHOOK only: the HMAC-SHA256 key of X-Berth-Signature-256, encrypted; shown once.
    secret_enc = fields.TextField(null=True)
    # Event names and patterns (`deployment.failed`, `deployment.*`).
    events: Any = fields.JSONField()
    created_at = fields.DatetimeField()
    project_id: int

    class Meta:
        table = "notification_channel"
        unique_together = (("project", "name"),)


class NotificationDelivery(Model):
    """Outbox: one event for one channel, written in the transaction of the change it announces."""

    id = fields.BigIntField(primary_key=True)
    channel: fields.ForeignKeyRelation[NotificationChannel] = fields.ForeignKeyField(
        "models.NotificationChannel", related_name="deliveries", on_delete=fields.CASCADE
    )
    # Null for a test event (and once the deployment record is gone).
    deployment: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "models.Deployment", related_name="notification_deliveries", null=True, on_delete=fields.SET_NULL
    )
    event = fields.CharField(max_length=64)
    # X-Berth-Delivery: the same on every attempt, so receivers can drop a repeat.
    delivery_id = fields.CharField(max_length=36, unique=True)
    # The summary as it was when the event happened (names, numbers, error); the message
    # of each kind is built from it when sent, with the link made absolute.
    payload: Any = fields.JSONField()
    status = fields.CharEnumField(NotificationDeliveryStatus, max_length=10,
                                  default=NotificationDeliveryStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    response_status = fields.IntField(null=True)
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField()
    delivered_at = fields.DatetimeField(null=True)
    channel_id: int
    deployment_id: int | None

    class Meta:
        table = "notification_delivery"
        indexes = (
            Index(fields=("status", "next_attempt_at")),
            Index(fields=("channel_id", "created_at", "id")),
        )
