"""API tokens for agents and scripts: only a keyed hash of the secret is stored."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from berth.models.enums import Role


class ApiToken(Model):
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=128)
    # First characters of the token, safe to display.
    prefix = fields.CharField(max_length=32)
    token_hash = fields.CharField(max_length=64, unique=True)
    role = fields.CharEnumField(Role, max_length=16)
    scopes: Any = fields.JSONField(default=list)
    project_ids: Any = fields.JSONField(default=list)
    created_by = fields.CharField(max_length=255)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_token"
