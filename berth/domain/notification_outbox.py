"""The notification outbox from the sender's side: claiming due deliveries, the message each
kind of channel gets, and recording the result.

Rows are written by the lifecycle change they announce (`berth.models.notification_outbox`).
Claiming, fencing and backoff are those of every outbox (`berth.domain.outbox`); the group
whose order is kept is a deployment on a channel, so `started` never arrives after its
`succeeded`. A delivery is outstanding while PENDING.

The body is built from the stored summary when sent, the same bytes on every attempt (the
stored row and the public URL do not change), so the signature and X-Berth-Delivery of a
retry are those of the first try: a receiver that already has it can drop it.

| Kind | Body | Headers |
|---|---|---|
| WEBHOOK | `{"event", "deliveryId", "occurredAt", "deployment": {…}}` | X-Berth-Event, X-Berth-Delivery, X-Berth-Signature-256 |
| SLACK | `{"text": "<link|label> words"}` (mrkdwn) | X-Berth-Event, X-Berth-Delivery |
| DISCORD | `{"content", "embeds": [{title, url, description, color, timestamp}], "allowed_mentions"}` | same |
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from berth.domain import outbox
from berth.domain.outbox import MAX_ERROR, absolute_link
from berth.domain.secrets import decrypt
from berth.ids import to_global_id
from berth.models.enums import NotificationDeliveryStatus, NotificationKind
from berth.models.lifecycle import now
from berth.models.notification_outbox import (
    CANCELED,
    FAILED,
    ROLLED_BACK,
    SKIPPED,
    STARTED,
    SUCCEEDED,
    TEST_EVENT,
)
from berth.models.notifications import NotificationChannel, NotificationDelivery

Claimed = outbox.Claimed[NotificationDelivery]
Round = outbox.Round[NotificationDelivery]
_OUTSTANDING = {"status": NotificationDeliveryStatus.PENDING}
USER_AGENT = "berth-notifications"
SIGNATURE_HEADER = "X-Berth-Signature-256"
# Discord's limits: 2000 characters of content, 256 of an embed title.
DISCORD_CONTENT = 2000
DISCORD_TITLE = 256
# Discord embed colours (RGB as an integer): green, red, grey, blue.
_COLOURS = {SUCCEEDED: 0x2EA043, ROLLED_BACK: 0x2EA043, FAILED: 0xD1242F, CANCELED: 0x8C959F,
            SKIPPED: 0x8C959F, STARTED: 0x0969DA, TEST_EVENT: 0x0969DA}


async def claim_due(lease_seconds: float, limit: int, moment: datetime | None = None) -> Round:
    return await outbox.claim_due(NotificationDelivery, _OUTSTANDING,
                                  lambda row: (row.channel_id, row.deployment_id or -row.pk),
                                  lease_seconds, limit, moment)


async def mark_delivered(claim: Claimed, response_status: int) -> bool:
    moment = now()
    return await outbox.settle(claim, _OUTSTANDING, status=NotificationDeliveryStatus.DELIVERED,
                               delivered_at=moment, next_attempt_at=moment, response_status=response_status,
                               last_error=None)


async def mark_failed(claim: Claimed, error: str, response_status: int | None, retry_at: datetime | None) -> bool:
    """Record a failed attempt: try again at `retry_at`, or give up (None: FAILED)."""
    fields: dict[str, object] = {"last_error": error[:MAX_ERROR], "response_status": response_status}
    if retry_at is None:
        fields["status"] = NotificationDeliveryStatus.FAILED
    else:
        fields["next_attempt_at"] = retry_at
    return await outbox.settle(claim, _OUTSTANDING, **fields)


class NotSendable(Exception):
    """The row cannot become a request (the channel is gone, its URL no longer decrypts)."""


@dataclass(frozen=True)
class Message:
    url: str
    headers: dict[str, str]
    body: bytes
    # Held only to cut them out of whatever is recorded or logged.
    secrets: tuple[str, ...]

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = outbox.scrub(text, secret)
        return text


def signature(secret: str, body: bytes) -> str:
    """X-Berth-Signature-256: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _words(payload: dict[str, Any]) -> str:
    event = payload["event"]
    if event == TEST_EVENT:
        return "test notification: this channel is connected"
    deployment = payload["deployment"]
    error = deployment.get("error") or {}
    if event == FAILED and error.get("code"):
        where = f" at {error['step']}" if error.get("step") else ""
        return f"failed ({error['code']}{where})"
    if event == ROLLED_BACK:
        target = deployment.get("rollbackOf")
        return f"rolled back (to #{target})" if target is not None else "rolled back"
    return {
        STARTED: "started",
        SUCCEEDED: "deployed",
        FAILED: "failed",
        CANCELED: "canceled",
        SKIPPED: "skipped (a newer deployment superseded it)",
    }.get(event, event)


def _label(payload: dict[str, Any]) -> str:
    if payload["event"] == TEST_EVENT:
        channel = payload["channel"]
        return f"{channel['project']}: channel {channel['name']}"
    return str(payload["deployment"]["label"])


def _slack_escape(text: str) -> str:
    # Slack's control characters: also what keeps a service name from being <!channel>.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webhook_body(row: NotificationDelivery, link: str | None) -> dict[str, Any]:
    payload = dict(row.payload)
    body: dict[str, Any] = {"event": row.event, "deliveryId": row.delivery_id, "occurredAt": payload["occurredAt"]}
    if "deployment" in payload:
        deployment = dict(payload["deployment"])
        deployment.pop("link", None)
        id_ = to_global_id("Deployment", row.deployment_id) if row.deployment_id is not None else None
        body["deployment"] = {"id": id_, **deployment, "url": link}
    if "channel" in payload:
        body["channel"] = payload["channel"]
    body["text"] = f"{_label(payload)} {_words(payload)}"
    return body


def slack_body(row: NotificationDelivery, link: str | None) -> dict[str, Any]:
    label = _slack_escape(_label(row.payload))
    shown = f"<{link}|{label}>" if link else label
    return {"text": f"{shown} {_slack_escape(_words(row.payload))}"}


def discord_body(row: NotificationDelivery, link: str | None) -> dict[str, Any]:
    label, words = _label(row.payload), _words(row.payload)
    embed: dict[str, Any] = {"title": label[:DISCORD_TITLE], "description": words,
                             "color": _COLOURS.get(row.event, 0x8C959F), "timestamp": row.payload["occurredAt"]}
    if link:
        embed["url"] = link
    return {
        "content": f"{label} {words}"[:DISCORD_CONTENT],
        "embeds": [embed],
        # Names are the operators' text: never let one ping @everyone.
        "allowed_mentions": {"parse": []},
    }


_BODIES = {NotificationKind.WEBHOOK: webhook_body, NotificationKind.SLACK: slack_body,
           NotificationKind.DISCORD: discord_body}


async def prepare(claim: Claimed, public_url: str | None) -> Message:
    row = claim.row
    channel = await NotificationChannel.get_or_none(id=row.channel_id)
    if channel is None:
        raise NotSendable("the channel is gone")
    try:
        url = decrypt(channel.url_enc)
        secret = decrypt(channel.secret_enc) if channel.secret_enc else None
    except Exception:
        # A changed data key: say so, never with the ciphertext or anything derived from it.
        raise NotSendable("the channel's URL could not be decrypted (was the data key changed?)") from None
    link_path = row.payload.get("deployment", {}).get("link") if isinstance(row.payload, dict) else None
    link = absolute_link(public_url, link_path) if isinstance(link_path, str) else None
    body = json.dumps(_BODIES[channel.kind](row, link), separators=(",", ":"), ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Berth-Event": row.event,
        "X-Berth-Delivery": row.delivery_id,
    }
    if channel.kind is NotificationKind.WEBHOOK and secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    # The URL's path is the credential of a Slack or Discord URL; an error may quote it alone.
    path = urlsplit(url).path
    hidden = (url, secret, path if len(path) > 8 else None)
    return Message(url=url, headers=headers, body=body, secrets=tuple(s for s in hidden if s))
