"""What a fresh Berth installation sets up for itself."""

from __future__ import annotations

import uuid

from tortoise.exceptions import IntegrityError

from berth.models import Installation, Server

LOCAL_SERVER_NAME = "local"


async def ensure_local_server(docker_host: str) -> Server:
    """Register the `local` server once; a second start (or a racing process) finds it."""
    existing = await Server.get_or_none(name=LOCAL_SERVER_NAME)
    if existing is not None:
        return existing
    try:
        return await Server.create(name=LOCAL_SERVER_NAME, docker_host=docker_host)
    except IntegrityError:
        # Another process registered it between our read and our insert: the unique name decides.
        return await Server.get(name=LOCAL_SERVER_NAME)


async def ensure_installation() -> str:
    """This database's installation id, created on first use (race-safe: fixed primary key)."""
    existing = await Installation.get_or_none(id=1)
    if existing is not None:
        return existing.uid
    try:
        return (await Installation.create(id=1, uid=uuid.uuid4().hex[:12])).uid
    except IntegrityError:
        return (await Installation.get(id=1)).uid
