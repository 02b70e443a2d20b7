"""Builders shared by the notification tests."""

from __future__ import annotations

from berth.domain.notifications import ChannelSpec, create_channel
from berth.models import NotificationChannel, Service
from berth.models.enums import NotificationKind
from tests.runner.runner_support import owner


async def make_channel(service: Service, url: str, kind: NotificationKind = NotificationKind.WEBHOOK,
                       events: list[str] | None = None, name: str = "ops") -> tuple[NotificationChannel, str | None]:
    """A channel of the service's project (every deployment event unless told), and its secret."""
    return await create_channel(owner(), ChannelSpec(
        project_id=service.project_id, name=name, kind=kind, url=url,  # type: ignore[attr-defined]
        events=events or ["deployment.*"]))
