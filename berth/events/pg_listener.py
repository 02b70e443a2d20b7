"""Wake-ups from every process, over PostgreSQL LISTEN/NOTIFY (CONTRACT §5).

Every lifecycle change NOTIFYs `berth_deployments` inside its transaction (payload
"id:event_seq:log_seq"), so the notification is delivered when it commits. Each API
process LISTENs on a dedicated asyncpg connection, outside Tortoise's pool (a pooled
connection would be handed to queries and lose its LISTEN), and turns each notification
into `broker.wake(id)`. Only wake-ups travel; the rows are read from the database.

A dropped connection is reopened with backoff; notifications sent meanwhile are lost, so
after each (re)connection every subscriber is woken (`broker.wake_all()`) and catches up
from the database. A silently dead connection is found by a light health check on it.
On SQLite (one process owns the database) this is a no-op: commit listeners suffice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

from berth.events.broker import broker as default_broker
from berth.models.lifecycle import NOTIFY_CHANNEL
from berth.settings import Settings

log = logging.getLogger("berth.events.pg")

APPLICATION_NAME = "berth-wakeups"
# Health check of an idle LISTEN connection (not a poll of the data: wake-ups are pushed).
HEALTH_INTERVAL = 15.0
HEALTH_TIMEOUT = 5.0
BACKOFF_FIRST = 0.1
BACKOFF_MAX = 5.0
CONNECT_TIMEOUT = 10.0
# How long the start waits for the first LISTEN before going on (it keeps trying).
START_WAIT = 10.0


class WakeTarget(Protocol):
    def wake(self, deployment_id: int) -> None: ...

    def wake_all(self) -> None: ...


def parse_payload(payload: str) -> int | None:
    """The deployment id of an "id:event_seq:log_seq" payload (None when malformed)."""
    head = payload.split(":", 1)[0].strip()
    return int(head) if head.isascii() and head.isdigit() else None


def _asyncpg_dsn(database_url: str) -> str:
    return "postgresql://" + database_url.split("://", 1)[1]


class PgListener:
    def __init__(self, dsn: str, target: WakeTarget) -> None:
        self.dsn = dsn
        self.target = target
        self.connected = asyncio.Event()
        self.connections = 0  # successful LISTENs so far (tests watch reconnects)
        self.notifications = 0

    def _on_notify(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        self.notifications += 1
        deployment_id = parse_payload(payload)
        if deployment_id is None:
            log.warning("ignoring a malformed wake-up on %s: %r", channel, payload[:100])
            return
        self.target.wake(deployment_id)

    async def run(self) -> None:
        import asyncpg

        delay = BACKOFF_FIRST
        while True:
            try:
                connection = await asyncpg.connect(
                    self.dsn,
                    timeout=CONNECT_TIMEOUT,
                    server_settings={"application_name": APPLICATION_NAME},
                )
            except (TimeoutError, OSError, asyncpg.PostgresError) as error:
                log.warning("LISTEN connection failed (%s); retrying in %.1fs", type(error).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _connection, lost=lost: lost.set())
            try:
                await connection.add_listener(NOTIFY_CHANNEL, self._on_notify)
                self.connections += 1
                if self.connections > 1:
                    log.info("LISTEN connection re-established; subscribers catch up from the database")
                delay = BACKOFF_FIRST
                self.connected.set()
                # Whatever was committed while nobody listened: read it.
                self.target.wake_all()
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), HEALTH_INTERVAL)
                        break
                    await asyncio.wait_for(connection.fetchval("SELECT 1"), HEALTH_TIMEOUT)
                log.warning("LISTEN connection lost; reconnecting")
            except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("LISTEN connection failed (%s); reconnecting", type(error).__name__)
            finally:
                self.connected.clear()
                connection.terminate()
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)


@contextlib.asynccontextmanager
async def pg_wakeups(settings: Settings, target: WakeTarget | None = None) -> AsyncIterator[PgListener | None]:
    """Background service: wake this process's subscribers for commits made anywhere."""
    if settings.is_sqlite:
        yield None
        return
    listener = PgListener(_asyncpg_dsn(settings.database_url), target or default_broker)
    task = asyncio.create_task(listener.run(), name="berth-pg-wakeups")
    try:
        try:
            await asyncio.wait_for(listener.connected.wait(), START_WAIT)
        except TimeoutError:
            log.warning("LISTEN not established within %.0fs; still trying", START_WAIT)
        yield listener
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
