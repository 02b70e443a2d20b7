"""One row naming this Berth installation (one database = one installation).

Docker daemons can be shared by several installations (staging and production control
planes, or concurrent test runs); labels carry this id so each finds only its own.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Installation(Model):
    id = fields.SmallIntField(primary_key=True)
    uid = fields.CharField(max_length=32, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "installation"
