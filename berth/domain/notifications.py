"""Notification channels: creating, deleting and testing them, who may see them, their ledger.

A channel belongs to a project, so it is visible exactly when its project is (`get_visible`
on its `project_id`); its deliveries are visible when their channel is. The URL is a
credential for Slack and Discord (whoever has it can post), so it is stored encrypted and
never shown again; a WEBHOOK channel's signing secret is shown once, at creation.
Which deployments announce what is decided where they change (`berth.models.notification_outbox`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from berth.auth.principal import Principal
from berth.domain.errors import ErrorList, UserErrorCode, UserFacingError, not_found
from berth.domain.grammars import http_url_problem
from berth.domain.queries import Page, get_visible, newest_first_page
from berth.domain.secrets import encrypt
from berth.models import Project
from berth.models.enums import NotificationDeliveryStatus, NotificationKind
from berth.models.lifecycle import now
from berth.models.notification_outbox import (
    EVENTS,
    EVERY_DEPLOYMENT_EVENT,
    TEST_EVENT,
    new_delivery_id,
    wake_senders,
)
from berth.models.notifications import NotificationChannel, NotificationDelivery

MAX_NAME = 100
MAX_URL = 2048
MAX_EVENTS = len(EVENTS) + 1
KNOWN_EVENTS = (*EVENTS, EVERY_DEPLOYMENT_EVENT)
# 32 random bytes from the CSPRNG, URL-safe: the HMAC-SHA256 key of X-Berth-Signature-256.
SECRET_BYTES = 32


@dataclass(frozen=True)
class ChannelSpec:
    project_id: int
    name: str
    kind: NotificationKind
    url: str
    events: list[str]

    def __repr__(self) -> str:
        # The URL is a credential (Slack, Discord): never in a log line or a traceback.
        return f"ChannelSpec(project_id={self.project_id}, name={self.name!r}, kind={self.kind}, url=***)"


def url_problem(url: str) -> str | None:
    """An absolute http(s) URL without user:password@ or a fragment. A query is allowed
    (Discord takes `?thread_id=`); the whole URL is stored encrypted anyway."""
    return http_url_problem(url, MAX_URL, allow_query=True)


def name_problem(name: str) -> str | None:
    if not name.strip() or len(name) > MAX_NAME or any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return f"name must be 1 to {MAX_NAME} printable characters"
    return None


def events_problem(events: list[str]) -> str | None:
    if not events:
        return f"events must name at least one of {', '.join(KNOWN_EVENTS)}"
    if len(events) > MAX_EVENTS:
        return f"events takes at most {MAX_EVENTS} entries"
    unknown = [e for e in events if e not in KNOWN_EVENTS]
    if unknown:
        # The known names only: an unknown entry may be anything, echo at most its length.
        return f"events must be among {', '.join(KNOWN_EVENTS)} ({len(unknown)} unknown)"
    return None


async def get_visible_channel(principal: Principal, pk: int) -> NotificationChannel | None:
    return await get_visible(principal, NotificationChannel, pk)


async def get_visible_delivery(principal: Principal, pk: int) -> NotificationDelivery | None:
    delivery = await NotificationDelivery.get_or_none(id=pk)
    if delivery is None or await get_visible_channel(principal, delivery.channel_id) is None:
        return None
    return delivery


async def channels_of_project(project_id: int) -> list[NotificationChannel]:
    """The caller has checked that the project is visible."""
    return list(await NotificationChannel.filter(project_id=project_id).order_by("id"))


async def create_channel(principal: Principal, spec: ChannelSpec) -> tuple[NotificationChannel, str | None]:
    """The new channel and, for WEBHOOK, its signing secret: the only time it leaves the server."""
    project = await get_visible(principal, Project, spec.project_id)
    if project is None:
        raise not_found("project", ["input", "projectId"])
    errors = ErrorList()
    if problem := name_problem(spec.name):
        errors.add(["input", "name"], problem)
    if problem := url_problem(spec.url):
        # Never echo the URL: for Slack and Discord it is the credential.
        errors.add(["input", "url"], f"url {problem}")
    if problem := events_problem(spec.events):
        errors.add(["input", "events"], problem)
    errors.raise_if_any()
    if await NotificationChannel.filter(project_id=project.id, name=spec.name).exists():
        raise _name_taken()
    secret = secrets.token_urlsafe(SECRET_BYTES) if spec.kind is NotificationKind.WEBHOOK else None
    try:
        channel = await NotificationChannel.create(
            project_id=project.id, name=spec.name, kind=spec.kind, url_enc=encrypt(spec.url),
            secret_enc=encrypt(secret) if secret else None, events=list(dict.fromkeys(spec.events)),
            created_at=now(),
        )
    except IntegrityError:  # the same name created at the same moment
        raise _name_taken() from None
    return channel, secret


def _name_taken() -> UserFacingError:
    return UserFacingError(UserErrorCode.CONFLICT, "the project already has a channel of that name",
                           ["input", "name"])


async def delete_channel(principal: Principal, pk: int) -> NotificationChannel:
    """Removes the channel and its ledger (pending deliveries are not sent)."""
    channel = await get_visible_channel(principal, pk)
    if channel is None:
        raise not_found("notification channel", ["id"])
    async with in_transaction():
        await NotificationDelivery.filter(channel_id=channel.id).delete()
        await channel.delete()
    return channel


async def send_test_notification(principal: Principal, pk: int) -> NotificationChannel:
    """Queue a `notification.test` delivery to this channel only; the sender sends it now."""
    channel = await get_visible_channel(principal, pk)
    if channel is None:
        raise not_found("notification channel", ["id"])
    project = await Project.get(id=channel.project_id)
    moment = now()
    await NotificationDelivery.create(
        channel_id=channel.id, deployment_id=None, event=TEST_EVENT, delivery_id=new_delivery_id(),
        payload={"event": TEST_EVENT, "occurredAt": moment.isoformat(),
                 "channel": {"name": channel.name, "project": project.name}},
        status=NotificationDeliveryStatus.PENDING, attempts=0, next_attempt_at=moment, created_at=moment,
    )
    wake_senders()
    return channel


async def list_deliveries(channel_id: int, first: int | None = None,
                          after: str | None = None) -> Page[NotificationDelivery]:
    """A channel's deliveries, newest first. The caller has checked that the channel is visible."""
    return await newest_first_page(NotificationDelivery.filter(channel_id=channel_id), "created_at", first, after)
