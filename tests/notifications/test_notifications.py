"""Notifications from the outbox to loopback HTTP receivers, on SQLite and PostgreSQL:
deployments moved through the lifecycle rules (as the runner moves them), the sender POSTing
to a local server standing in for a webhook receiver, Slack and Discord; signatures checked
here with the secret shown at creation, retries, a receiver hanging past the timeout, and
giving up."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from berth.domain.errors import InvalidInput, UserFacingError
from berth.domain.notifications import ChannelSpec, create_channel, delete_channel, send_test_notification
from berth.domain.outbox import retry_delay
from berth.ids import to_global_id
from berth.models import Deployment, NotificationChannel, NotificationDelivery, Service
from berth.models.enums import (
    DeploymentConclusion,
    DeploymentStatus,
    ErrorCode,
    NotificationDeliveryStatus,
    NotificationKind,
    StepKind,
    StepStatus,
)
from berth.models.lifecycle import StepChange, apply_change, conclude_from_queue
from berth.runner.notification_sender import NotificationSender
from berth.runner.outbox_sender import retry_after_seconds
from berth.settings import get_settings
from tests.conftest import Database
from tests.models.factories import make_deployment
from tests.notifications.support import make_channel
from tests.runner.runner_support import make_server, make_service, owner, queue, succeed
from tests.support.polling import poll
from tests.support.status_receiver import Received, StatusReceiver

PUBLIC_URL = "https://berth.example.test"
DEADLINE = 30.0
S = DeploymentStatus


@pytest.fixture
def receiver() -> Iterator[StatusReceiver]:
    with StatusReceiver() as server:
        yield server


def short_settings(**overrides: Any) -> Any:
    # A poll longer than any deadline here: deliveries go because lifecycle commits wake the
    # sender and because it waits exactly until a retry falls due, not because it polls.
    fields: dict[str, Any] = {
        "public_url": PUBLIC_URL, "notify_poll_seconds": 600.0, "notify_timeout_seconds": 1.0,
        "notify_retry_base_seconds": 0.05, "notify_retry_max_seconds": 0.2, "notify_max_attempts": 3,
    }
    return replace(get_settings(), **{**fields, **overrides})


@pytest.fixture
async def sender(db: Database) -> AsyncIterator[NotificationSender]:
    running = NotificationSender(short_settings())
    await running.start()
    yield running
    await running.stop()


async def setup(receiver: StatusReceiver, kind: NotificationKind = NotificationKind.WEBHOOK,
                events: list[str] | None = None) -> tuple[Service, NotificationChannel, str | None]:
    service = await make_service(await make_server())
    channel, secret = await make_channel(service, receiver.url + "/hook", kind, events)
    return service, channel, secret


async def deliveries_of(channel: NotificationChannel) -> list[NotificationDelivery]:
    return list(await NotificationDelivery.filter(channel_id=channel.id).order_by("id"))


async def settled(channel: NotificationChannel, count: int) -> list[NotificationDelivery]:
    async def check() -> list[NotificationDelivery] | None:
        rows = await deliveries_of(channel)
        done = [r for r in rows if r.status is not NotificationDeliveryStatus.PENDING]
        return rows if len(rows) == count and len(done) == count else None

    return await poll(check, DEADLINE, f"{count} settled notification deliveries")


async def label_of(deployment: Deployment) -> str:
    await deployment.fetch_related("project", "environment", "service")
    return f"{deployment.project.name}/{deployment.environment.name}/{deployment.service.name} #{deployment.number}"


def verify(secret: str, request: Received) -> bool:
    """What a receiver does: HMAC-SHA256 of the raw body with the secret, compared in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), request.raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, request.header("x-berth-signature-256") or "")


async def fail(deployment_id: int) -> None:
    await apply_change(deployment_id, from_status=S.QUEUED, to_status=S.PREPARE)
    await apply_change(
        deployment_id, from_status=S.PREPARE, to_status=S.FAILED, conclusion=DeploymentConclusion.FAILED,
        error={"step": "PULL", "code": ErrorCode.PULL_FAILED.value, "message": "manifest unknown"},
        steps=[StepChange(kind, StepStatus.SKIPPED) for kind in StepKind],
    )


async def test_a_webhook_gets_signed_started_and_succeeded(
    db: Database, receiver: StatusReceiver, sender: NotificationSender,
) -> None:
    service, channel, secret = await setup(receiver)
    assert secret
    deployment = await queue(service)
    await succeed(deployment.id)
    first, second = await receiver.received(2)
    rows = await settled(channel, 2)
    label = await label_of(deployment)
    link = f"{PUBLIC_URL}/api/v1/deployments/{deployment.id}/artifact"
    assert [r.event for r in rows] == ["deployment.started", "deployment.succeeded"]
    for request, row in zip((first, second), rows, strict=True):
        assert request.path == "/hook" and request.header("content-type") == "application/json"
        assert verify(secret, request), "the signature does not match the body"
        assert request.header("x-berth-event") == row.event
        assert request.header("x-berth-delivery") == row.delivery_id == request.body["deliveryId"]
        assert request.body["event"] == row.event
        summary = request.body["deployment"]
        assert summary["id"] == to_global_id("Deployment", deployment.id)
        assert summary["label"] == label and summary["url"] == link and summary["number"] == deployment.number
        assert row.status is NotificationDeliveryStatus.DELIVERED and row.attempts == 1
        assert row.response_status == 201 and row.delivered_at is not None and row.last_error is None
    assert first.body["text"] == f"{label} started" and first.body["deployment"]["status"] == "PREPARE"
    assert second.body["text"] == f"{label} deployed"
    assert second.body["deployment"]["conclusion"] == "SUCCEEDED"
    assert first.header("x-berth-delivery") != second.header("x-berth-delivery")
    # A body changed in transit no longer verifies.
    assert not verify(secret, replace(second, raw=second.raw.replace(b"deployed", b"destroyed")))


async def test_each_conclusion_announces_its_event_to_the_channels_that_want_it(db: Database) -> None:
    service = await make_service(await make_server())
    everything, _ = await make_channel(service, "https://hooks.example.test/all", name="all")
    failures, _ = await make_channel(service, "https://hooks.example.test/f", events=["deployment.failed"],
                                     name="failures")
    failed = await queue(service)
    await fail(failed.id)
    canceled = await queue(service)
    await conclude_from_queue(canceled.id, DeploymentConclusion.CANCELED, cancel_reason="not now")
    older = await queue(service)
    newer = await queue(service)  # supersedes the older one, still QUEUED: SKIPPED
    assert (await Deployment.get(id=older.id)).conclusion == DeploymentConclusion.SKIPPED
    await succeed(newer.id)
    back = await make_deployment(await Service.get(id=service.id), rollback_of_id=failed.id)
    await succeed(back.id)
    events = [(r.deployment_id, r.event) for r in await deliveries_of(everything)]
    assert events == [
        (failed.id, "deployment.started"), (failed.id, "deployment.failed"),
        (canceled.id, "deployment.canceled"),
        (older.id, "deployment.skipped"),
        (newer.id, "deployment.started"), (newer.id, "deployment.succeeded"),
        # A rollback that succeeds says so, instead of succeeded.
        (back.id, "deployment.started"), (back.id, "deployment.rolled_back"),
    ]
    [only] = await deliveries_of(failures)
    assert (only.deployment_id, only.event) == (failed.id, "deployment.failed")
    assert only.payload["deployment"]["error"] == {"code": "PULL_FAILED", "step": "PULL"}
    assert "manifest unknown" not in json.dumps(only.payload)
    rolled = (await deliveries_of(everything))[-1].payload["deployment"]
    assert rolled["rollbackOf"] == failed.number


async def test_slack_and_discord_get_their_incoming_webhook_formats(
    db: Database, receiver: StatusReceiver, sender: NotificationSender,
) -> None:
    service, slack, secret = await setup(receiver, NotificationKind.SLACK, ["deployment.failed"])
    assert secret is None
    discord, _ = await make_channel(service, receiver.url + "/discord", NotificationKind.DISCORD,
                                    ["deployment.failed"], name="discord")
    deployment = await queue(service)
    await fail(deployment.id)
    await settled(slack, 1)
    await settled(discord, 1)
    label = await label_of(deployment)
    link = f"{PUBLIC_URL}/api/v1/deployments/{deployment.id}/artifact"
    by_path = {r.path: r for r in receiver.snapshot()}
    slack_request, discord_request = by_path["/hook"], by_path["/discord"]
    assert slack_request.body == {"text": f"<{link}|{label}> failed (PULL_FAILED at PULL)"}
    assert slack_request.header("x-berth-signature-256") is None
    assert slack_request.header("x-berth-event") == "deployment.failed"
    assert discord_request.body["content"] == f"{label} failed (PULL_FAILED at PULL)"
    [embed] = discord_request.body["embeds"]
    assert embed["title"] == label and embed["url"] == link and embed["description"].startswith("failed")
    assert isinstance(embed["color"], int) and discord_request.body["allowed_mentions"] == {"parse": []}


async def test_a_receiver_failing_twice_gets_it_on_the_third_attempt(
    db: Database, receiver: StatusReceiver, sender: NotificationSender,
) -> None:
    service, channel, secret = await setup(receiver, events=["deployment.started", "deployment.succeeded"])
    assert secret
    receiver.script(500, 503)
    deployment = await queue(service)
    await succeed(deployment.id)
    started, done = await settled(channel, 2)
    requests = receiver.snapshot()
    # The succeeded waited for its started: never sent before it, though it was due at once.
    assert [r.header("x-berth-event") for r in requests] == ["deployment.started"] * 3 + ["deployment.succeeded"]
    assert (started.attempts, done.attempts) == (3, 1)
    assert started.status is NotificationDeliveryStatus.DELIVERED and started.last_error is None
    # A retry is the same delivery: the same id and the same signed bytes.
    assert {r.header("x-berth-delivery") for r in requests[:3]} == {started.delivery_id}
    assert len({r.raw for r in requests[:3]}) == 1 and all(verify(secret, r) for r in requests)


async def test_a_receiver_hanging_past_the_timeout_is_cut_off_and_retried(
    db: Database, receiver: StatusReceiver, sender: NotificationSender,
) -> None:
    service, channel, _ = await setup(receiver, events=["deployment.started"])
    receiver.hold(30)
    begun = time.monotonic()
    deployment = await queue(service)
    await apply_change(deployment.id, from_status=S.QUEUED, to_status=S.PREPARE)
    [row] = await settled(channel, 1)
    assert row.status is NotificationDeliveryStatus.DELIVERED and row.attempts == 2
    assert time.monotonic() - begun < 15, "the sender waited for the hanging receiver beyond its timeout"
    first, second = receiver.snapshot()
    assert first.header("x-berth-delivery") == second.header("x-berth-delivery") == row.delivery_id


async def test_a_hanging_receiver_holds_up_only_its_own_deliveries(db: Database, receiver: StatusReceiver) -> None:
    # The hanging channel's request stays in flight (a 20 s timeout, held 30 s) while the
    # other channel's two deliveries are sent: a send in flight does not block the outbox.
    sender = NotificationSender(short_settings(notify_timeout_seconds=20.0))
    await sender.start()
    try:
        service, hanging, _ = await setup(receiver, events=["deployment.started"])
        receiver.hold(30)
        deployment = await queue(service)
        await apply_change(deployment.id, from_status=S.QUEUED, to_status=S.PREPARE)
        await receiver.received(1)
        with StatusReceiver() as other_receiver:
            other = await make_service(await make_server())
            prompt, _ = await make_channel(other, other_receiver.url + "/hook", NotificationKind.WEBHOOK)
            await succeed((await queue(other)).id)
            rows = await settled(prompt, 2)
            assert [r.status for r in rows] == [NotificationDeliveryStatus.DELIVERED] * 2
        # Still the first attempt of the hanging one, unanswered: nothing waited for it.
        [held] = await deliveries_of(hanging)
        assert held.status is NotificationDeliveryStatus.PENDING and held.attempts == 1
        receiver.release()
        [answered] = await settled(hanging, 1)
        assert answered.status is NotificationDeliveryStatus.DELIVERED and answered.attempts == 1
    finally:
        receiver.release()
        await sender.stop()


async def test_a_receiver_that_keeps_failing_gets_it_given_up_and_a_gone_one_at_once(
    db: Database, receiver: StatusReceiver, sender: NotificationSender, caplog: pytest.LogCaptureFixture,
) -> None:
    service, channel, _ = await setup(receiver, events=["deployment.started"])
    receiver.answer_always(500, count=3)
    first = await queue(service)
    await apply_change(first.id, from_status=S.QUEUED, to_status=S.PREPARE)
    [row] = await settled(channel, 1)
    assert row.status is NotificationDeliveryStatus.FAILED and row.attempts == 3 and row.response_status == 500
    assert row.last_error is not None and row.last_error.startswith("attempt 3: HTTP 500")
    # A revoked Slack/Discord URL answers 404 or 410: no point retrying.
    receiver.script(410)
    other = await make_service(await make_server())
    gone, _ = await make_channel(other, receiver.url + "/services/T000/B000/secretpathsecretpath",
                                 NotificationKind.SLACK)
    second = await queue(other)
    await apply_change(second.id, from_status=S.QUEUED, to_status=S.PREPARE)
    [refused] = await settled(gone, 1)
    assert refused.status is NotificationDeliveryStatus.FAILED and refused.attempts == 1
    assert "secretpath" not in (refused.last_error or "") and "secretpath" not in caplog.text


async def test_two_senders_deliver_each_notification_once(db: Database, receiver: StatusReceiver) -> None:
    service, channel, _ = await setup(receiver)
    deployments = []
    for _ in range(5):
        # Each concludes before the next is queued: a newer one would supersede a queued one.
        deployments.append(await queue(service))
        await succeed(deployments[-1].id)
    senders = [NotificationSender(short_settings(notify_poll_seconds=0.05)) for _ in range(2)]
    for one in senders:
        await one.start()
    try:
        rows = await settled(channel, 2 * len(deployments))
    finally:
        for one in senders:
            await one.stop()
    sent = [r.header("x-berth-delivery") for r in receiver.snapshot()]
    assert sorted(sent) == sorted(r.delivery_id for r in rows) and len(set(sent)) == len(sent)
    assert all(r.status is NotificationDeliveryStatus.DELIVERED and r.attempts == 1 for r in rows)


async def test_a_rate_limited_receiver_is_retried_not_given_up(
    db: Database, receiver: StatusReceiver,
) -> None:
    service, channel, _ = await setup(receiver, events=["deployment.started"])
    deployment = await queue(service)
    await apply_change(deployment.id, from_status=S.QUEUED, to_status=S.PREPARE)
    receiver.script(429)
    # Retry-After is not sent by this stand-in: the backoff's cap (0.2 s) applies; what is
    # checked is that a 429 is retried, not given up like a 4xx refusal.
    running = NotificationSender(short_settings())
    await running.start()
    try:
        [row] = await settled(channel, 1)
    finally:
        await running.stop()
    assert row.status is NotificationDeliveryStatus.DELIVERED and row.attempts == 2


async def test_the_outbox_row_commits_and_rolls_back_with_the_change(db: Database) -> None:
    service = await make_service(await make_server())
    channel, _ = await make_channel(service, "https://hooks.example.test/x")
    deployment = await queue(service)

    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with in_transaction():
            await apply_change(deployment.id, from_status=S.QUEUED, to_status=S.PREPARE)
            assert len(await deliveries_of(channel)) == 1  # written, inside the transaction
            raise Abort
    assert await deliveries_of(channel) == []
    assert (await Deployment.get(id=deployment.id)).status is S.QUEUED
    # A refused move (the rules forbid it) announces nothing either.
    with pytest.raises(Exception, match="cannot move"):
        await apply_change(deployment.id, from_status=S.QUEUED, to_status=S.FINALIZE)
    assert await deliveries_of(channel) == []


async def test_a_test_notification_goes_to_that_channel_only(
    db: Database, receiver: StatusReceiver, sender: NotificationSender,
) -> None:
    service, channel, secret = await setup(receiver)
    other, _ = await make_channel(service, receiver.url + "/other", name="other")
    assert secret
    await send_test_notification(owner(), channel.id)
    [row] = await settled(channel, 1)
    [request] = receiver.snapshot()
    assert row.event == "notification.test" and row.deployment_id is None and verify(secret, request)
    assert request.path == "/hook" and request.body["event"] == "notification.test"
    assert await deliveries_of(other) == []
    await delete_channel(owner(), channel.id)
    assert await NotificationDelivery.filter(id=row.id).count() == 0
    with pytest.raises(UserFacingError) as missing:
        await send_test_notification(owner(), channel.id)
    assert missing.value.code == "NOT_FOUND"


async def test_the_url_and_secret_are_stored_encrypted_only(db: Database, tmp_path: Path) -> None:
    service = await make_service(await make_server())
    url = "https://hooks.slack.example.test/services/T123/B456/credential-in-the-path"
    channel, secret = await make_channel(service, url)
    assert secret and channel.url_enc and url not in channel.url_enc
    deployment = await queue(service)
    await succeed(deployment.id)
    conn = connections.get("default")
    dumped: list[Any] = []
    for table in ("notification_channel", "notification_delivery", "deployment", "deployment_event"):
        dumped.extend(await conn.execute_query_dict(f"SELECT * FROM {table}"))
    assert "credential-in-the-path" not in repr(dumped) and secret not in repr(dumped)
    assert "credential-in-the-path" not in repr(ChannelSpec(project_id=1, name="a", kind=NotificationKind.SLACK,
                                                            url=url, events=["deployment.*"]))
    if db.dialect == "sqlite":
        path = Path(db.url.removeprefix("sqlite://"))
        stored = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert b"credential-in-the-path" not in stored and secret.encode() not in stored


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_invalid_channels_name_the_field_and_store_nothing(db: Database) -> None:
    service = await make_service(await make_server())
    good: dict[str, Any] = {"name": "ops", "url": "https://hooks.example.test/x", "events": ["deployment.*"]}
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"url": "https://user:hunter2@hooks.example.test/x"}, "url", "must not carry credentials"),
        ({"url": "ftp://hooks.example.test/x"}, "url", "absolute http"),
        ({"url": "/relative"}, "url", "absolute http"),
        ({"url": "https://hooks.example.test/x#frag"}, "url", "fragment"),
        ({"name": ""}, "name", "1 to 100"),
        ({"name": "x" * 101}, "name", "1 to 100"),
        ({"events": []}, "events", "at least one"),
        ({"events": ["deployment.exploded"]}, "events", "must be among"),
    ]
    for change, field, words in cases:
        fields = {**good, **change}
        with pytest.raises(InvalidInput) as refused:
            await create_channel(owner(), ChannelSpec(project_id=service.project_id,  # type: ignore[attr-defined]
                                                      kind=NotificationKind.WEBHOOK, **fields))
        [error] = refused.value.errors
        assert error.field == ["input", field] and words in error.message, (change, error.message)
        assert "hunter2" not in error.message and "exploded" not in error.message
    assert await NotificationChannel.all().count() == 0
    await make_channel(service, good["url"])
    with pytest.raises(UserFacingError) as taken:
        await make_channel(service, good["url"])
    assert (taken.value.code, taken.value.field) == ("CONFLICT", ["input", "name"])
    assert await NotificationChannel.all().count() == 1


def test_the_default_backoff_makes_six_attempts_over_about_ten_minutes() -> None:
    settings = get_settings()
    assert settings.notify_timeout_seconds == 5.0 and settings.notify_max_attempts >= 5
    waits = [retry_delay(n, settings.notify_retry_base_seconds, settings.notify_retry_max_seconds)
             for n in range(1, settings.notify_max_attempts)]
    assert waits == [20, 40, 80, 160, 320] and 540 <= sum(waits) <= 720
    # A 429's Retry-After (Discord sends fractions) is honoured within the cap; a date is not.
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "1.5"})) == 1.5
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"})) is None
    assert retry_delay(1, 20, 600, retry_after=90) == 90
