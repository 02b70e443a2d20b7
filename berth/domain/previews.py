"""Pull-request previews (a stub until the previews work lands; that work replaces this file)."""

from __future__ import annotations

from typing import Any

from berth.domain.git_events import PullRequestEvent
from berth.models import Deployment
from berth.models.enums import WebhookOutcome
from berth.models.git import GitHook


async def handle_pull_request(
    hook: GitHook, event: PullRequestEvent, delivery_fields: dict[str, Any]
) -> tuple[WebhookOutcome, str | None, Deployment | None]:
    return WebhookOutcome.SKIPPED, "previews are not available", None
