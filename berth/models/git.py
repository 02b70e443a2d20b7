"""Git integration: hooks that follow a repository, the ledger of what providers sent,
pull-request previews, and the outbox of commit statuses to report back."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from berth.models.enums import CommitState, GitProvider, PreviewStatus, WebhookOutcome
from berth.models.inventory import Service


class GitHook(Model):
    id = fields.BigIntField(primary_key=True)
    service: fields.ForeignKeyRelation[Service] = fields.ForeignKeyField(
        "models.Service", related_name="git_hooks", on_delete=fields.CASCADE
    )
    provider = fields.CharEnumField(GitProvider, max_length=8)
    # owner/name (GitLab: group/subgroup/name) as the provider spells it.
    repository = fields.CharField(max_length=255)
    branch = fields.CharField(max_length=255, null=True)
    previews = fields.BooleanField(default=False)
    allow_fork_previews = fields.BooleanField(default=False)
    # HMAC key (GitHub, Gitea) or shared token (GitLab), Fernet-encrypted; shown once at creation.
    secret_enc = fields.TextField()
    # Optional commit-status reporting: the provider API's base URL and a token, encrypted.
    status_api_url = fields.CharField(max_length=512, null=True)
    status_token_enc = fields.TextField(null=True)
    created_at = fields.DatetimeField()
    service_id: int

    class Meta:
        table = "git_hook"


class WebhookDelivery(Model):
    """One request a provider sent, whatever became of it; newest first in the ledger."""

    id = fields.BigIntField(primary_key=True)
    hook: fields.ForeignKeyRelation[GitHook] = fields.ForeignKeyField(
        "models.GitHook", related_name="deliveries", on_delete=fields.CASCADE
    )
    # The provider's id (X-GitHub-Delivery, X-Gitlab-Event-UUID, X-Gitea-Delivery).
    delivery_id = fields.CharField(max_length=255, null=True)
    # Set on the first delivery processed under a provider id only: the unique pair is what
    # makes a retried or redelivered event a DUPLICATE even when two arrive at once.
    dedupe_key = fields.CharField(max_length=255, null=True)
    event = fields.CharField(max_length=64)
    received_at = fields.DatetimeField()
    outcome = fields.CharEnumField(WebhookOutcome, max_length=16)
    reason = fields.TextField(null=True)
    commit_sha = fields.CharField(max_length=64, null=True)
    # The verified JSON body (never an unverified one), kept so it can be redelivered.
    payload: Any = fields.JSONField(null=True)
    # A redelivery names the delivery it processed again. A plain column, not a foreign key:
    # aerich cannot order a new table that references itself.
    redelivery_of_id = fields.BigIntField(null=True)
    deployment: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "models.Deployment", related_name="webhook_deliveries", null=True, on_delete=fields.SET_NULL
    )
    hook_id: int
    deployment_id: int | None

    class Meta:
        table = "webhook_delivery"
        unique_together = (("hook", "dedupe_key"),)
        indexes = (Index(fields=("hook_id", "received_at", "id")),)


class PreviewEnvironment(Model):
    """The preview of one pull request; reopened pull requests reuse their row."""

    id = fields.BigIntField(primary_key=True)
    service: fields.ForeignKeyRelation[Service] = fields.ForeignKeyField(
        "models.Service", related_name="previews", on_delete=fields.CASCADE
    )
    pull_request = fields.IntField()
    title = fields.TextField(null=True)
    head_ref = fields.CharField(max_length=255)
    head_sha = fields.CharField(max_length=64)
    base_ref = fields.CharField(max_length=255)
    author = fields.CharField(max_length=255, null=True)
    fork = fields.BooleanField(default=False)
    status = fields.CharEnumField(PreviewStatus, max_length=8, default=PreviewStatus.ACTIVE)
    created_at = fields.DatetimeField()
    # Last open/synchronize: what BERTH_PREVIEW_TTL_HOURS counts from.
    updated_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)
    cleaned_at = fields.DatetimeField(null=True)
    service_id: int

    class Meta:
        table = "preview_environment"
        unique_together = (("service", "pull_request"),)
        indexes = (Index(fields=("status", "updated_at")),)


class CommitStatus(Model):
    """Outbox of commit statuses, written in the transaction of the change it reports."""

    id = fields.BigIntField(primary_key=True)
    hook: fields.ForeignKeyRelation[GitHook] = fields.ForeignKeyField(
        "models.GitHook", related_name="commit_statuses", on_delete=fields.CASCADE
    )
    deployment: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Deployment", related_name="commit_statuses", on_delete=fields.CASCADE
    )
    commit_sha = fields.CharField(max_length=64)
    state = fields.CharEnumField(CommitState, max_length=8)
    description = fields.CharField(max_length=140)
    target_url = fields.CharField(max_length=1024)
    created_at = fields.DatetimeField()
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    # Gave up after the last attempt (the provider kept refusing).
    abandoned_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    hook_id: int
    deployment_id: int

    class Meta:
        table = "commit_status"
        indexes = (Index(fields=("sent_at", "abandoned_at", "next_attempt_at")),)
