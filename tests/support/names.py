"""Unique names: tests share servers, databases and a Docker daemon, and must not collide."""

from __future__ import annotations

import uuid


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
