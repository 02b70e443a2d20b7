"""The LISTEN side of the wake-ups (CONTRACT §5): a dedicated asyncpg connection turns
NOTIFYs into `wake(id)`, reconnects when dropped and then wakes everyone to catch up."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from berth.events.pg_listener import APPLICATION_NAME, parse_payload, pg_wakeups
from berth.models.lifecycle import NOTIFY_CHANNEL
from berth.settings import get_settings
from tests.conftest import Database
from tests.subscriptions.conftest import postgres_only, sqlite_only


class Recorder:
    def __init__(self) -> None:
        self.woken: asyncio.Queue[int | None] = asyncio.Queue()

    def wake(self, deployment_id: int) -> None:
        self.woken.put_nowait(deployment_id)

    def wake_all(self) -> None:
        self.woken.put_nowait(None)

    async def next(self) -> int | None:
        return await asyncio.wait_for(self.woken.get(), 15)


def dsn(database: Database) -> str:
    return "postgresql://" + database.url.split("://", 1)[1]


def test_payloads_are_parsed_leniently() -> None:
    assert parse_payload("42:7:") == 42
    assert parse_payload("42::1000") == 42
    assert parse_payload("junk") is None and parse_payload("") is None and parse_payload("²:1:") is None


@postgres_only
async def test_notifications_wake_and_a_dropped_connection_reconnects_then_wakes_all(database: Database) -> None:
    recorder = Recorder()
    other = await asyncpg.connect(dsn(database))
    try:
        async with pg_wakeups(get_settings(), recorder) as listener:
            assert listener is not None and listener.connected.is_set()
            assert await recorder.next() is None  # first LISTEN: everyone reads what came before
            await other.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, "17:3:")
            assert await recorder.next() == 17
            # A NOTIFY inside a transaction arrives at commit, and never for a rollback.
            async with other.transaction():
                await other.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, "18::5")
            assert await recorder.next() == 18
            with pytest.raises(RuntimeError):
                async with other.transaction():
                    await other.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, "19:1:")
                    raise RuntimeError("rolled back")
            killed = await other.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = $1 AND datname = current_database()",
                APPLICATION_NAME,
            )
            assert killed == 1
            # Reconnected: everybody is woken to catch up from the database.
            assert await recorder.next() is None
            assert listener.connections == 2
            await other.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, "20:9:")
            assert await recorder.next() == 20
            assert recorder.woken.empty()  # 19 never came
        # Leaving the context closes the connection; the server notices the client's
        # goodbye asynchronously, so poll its view with a deadline.
        deadline = asyncio.get_running_loop().time() + 5
        while True:
            remaining = await other.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
                APPLICATION_NAME,
            )
            if remaining == 0 or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.05)
        assert remaining == 0
    finally:
        await other.close()


@sqlite_only
async def test_on_sqlite_it_is_a_no_op(database: Database) -> None:
    recorder = Recorder()
    async with pg_wakeups(get_settings(), recorder) as listener:
        assert listener is None
    assert recorder.woken.empty()
