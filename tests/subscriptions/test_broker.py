"""The broker and the stream loop in one process (both dialects): exactly once and in order
through replay, live rows, gaps and overflowing inboxes; the feed's per-deployment order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

import berth.events.broker as broker_module
from berth.auth.principal import make_principal
from berth.events.broker import Inbox, broker, on_commit
from berth.models.enums import Role, TokenKind
from berth.models.lifecycle import add_commit_listener, remove_commit_listener
from berth.resolvers.subscriptions import follow, follow_feed
from tests.conftest import Database
from tests.models.factories import make_deployment, make_service
from tests.subscriptions.support import run_phases, scripted_phases, stored_events, stored_logs

OWNER = make_principal(subject="test", email=None, role=Role.OWNER, token_kind=TokenKind.API_TOKEN,
                       credential_scopes=["deploy:read", "logs:read"])


@pytest.fixture
async def local_wakeups(db: Database) -> AsyncIterator[None]:
    add_commit_listener(on_commit)
    yield
    remove_commit_listener(on_commit)


class Row:
    def __init__(self, deployment_id: int, seq: int) -> None:
        self.deployment_id, self.seq = deployment_id, seq


async def test_an_overflowing_inbox_keeps_only_where_to_read_from() -> None:
    inbox = Inbox(limit=3)
    inbox.offer(1, [Row(1, 1), Row(1, 2)], newest=2)
    assert [r.seq for r in inbox.items] == [1, 2] and not inbox.dropped
    inbox.offer(1, [Row(1, 3), Row(1, 4)], newest=4)
    assert not inbox.items and inbox.dropped == {1: 1} and inbox.overflows == 1
    inbox.offer(1, [Row(1, 5)], newest=5)  # still behind: nothing buffered
    assert not inbox.items and inbox.dropped == {1: 1} and inbox.newest == {1: 5}
    assert inbox.take_dropped() == {1: 1} and not inbox.dropped
    inbox.offer(1, [Row(1, 6)], newest=6, final=6)
    assert [r.seq for r in inbox.items] == [6] and inbox.final == {1: 6}


class Consumer:
    """Reads a stream into `rows`; stops reading after `pause_after` rows until `gate` opens."""

    def __init__(self, stream: AsyncIterator[Any], pause_after: int = -1) -> None:
        self.rows: list[Any] = []
        self.gate = asyncio.Event()
        self.progress = asyncio.Event()
        self.task = asyncio.create_task(self._run(stream, pause_after))

    async def _run(self, stream: AsyncIterator[Any], pause_after: int) -> None:
        async for row in stream:
            self.rows.append(row)
            self.progress.set()
            if len(self.rows) == pause_after:
                await self.gate.wait()  # a slow consumer: the writer goes on meanwhile

    async def until(self, predicate: Any) -> None:
        while not predicate(self.rows):
            self.progress.clear()
            await self.progress.wait()


@pytest.mark.parametrize("kind", ["events", "logs"])
async def test_a_stream_is_exactly_once_through_replay_live_and_overflow(
    kind: str, local_wakeups: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="berth.events")
    monkeypatch.setattr(broker_module, "INBOX_LIMIT", 5)
    deployment = await make_deployment(await make_service())
    phases = scripted_phases(deployment.id, lines_per_step=60, batch=7)
    await run_phases(phases[:2])
    pause = 2 if kind == "events" else 10
    consumer = Consumer(follow(deployment.id, kind, 3, OWNER), pause_after=pause)  # type: ignore[arg-type]
    async with asyncio.timeout(30):
        await consumer.until(lambda rows: len(rows) >= pause)
        await run_phases(phases[2:])  # while the consumer waits: its inbox overflows
        consumer.gate.set()
        await consumer.task
    received = consumer.rows
    stored = await (stored_events if kind == "events" else stored_logs)(deployment.id)
    assert [row.seq for row in received] == [seq for seq, _ in stored if seq > 3]
    assert "catches up from the database" in caplog.text
    assert deployment.id not in broker.topics  # unregistered when the stream ended


async def test_the_feed_keeps_per_deployment_order_from_when_it_started(local_wakeups: None) -> None:
    service = await make_service()
    done_before = await make_deployment(service)
    await run_phases(scripted_phases(done_before.id, lines_per_step=0))
    running = await make_deployment(service)
    running_phases = scripted_phases(running.id, lines_per_step=0)
    await run_phases(running_phases[:3])
    started_at_seq = len(await stored_events(running.id))
    consumer = Consumer(follow_feed(OWNER, None))
    async with asyncio.timeout(30):
        # In one process the feed's start is visible: its reader has taken its snapshot.
        while broker.feed is None or broker.feed.task is None:
            await asyncio.sleep(0)  # the consumer's first step registers it
        await asyncio.shield(broker.feed.task)
        assert broker.feed.started
        fresh = await make_deployment(service)
        # Two deployments written concurrently.
        await asyncio.gather(
            run_phases(running_phases[3:]), run_phases(scripted_phases(fresh.id, lines_per_step=0))
        )
        await consumer.until(lambda rows: sum(1 for row in rows if row.type == "CONCLUDED") == 2)
    consumer.task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await consumer.task
    received = consumer.rows

    def of(deployment_id: int) -> list[int]:
        return [row.seq for row in received if row.deployment_id == deployment_id]

    assert of(done_before.id) == []
    assert of(running.id) == [seq for seq, _ in await stored_events(running.id) if seq > started_at_seq]
    assert of(fresh.id) == [seq for seq, _ in await stored_events(fresh.id)]
