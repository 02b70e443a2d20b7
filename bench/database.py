"""Fresh migrated databases for a run: an SQLite file in a temp dir, or a new PostgreSQL
database on the test server, built through the committed migrations (`apply_migrations`)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import tempfile
import uuid
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE

from bench.config import PG_DSN
from berth.db import apply_migrations, tortoise_config

T = TypeVar("T")


async def isolated(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` as a task with a context of its own. Tortoise keeps its state in a context
    variable that a closed connection leaves half set; the tests get a clean one from each
    `asyncio.run`, the benchmarks from a fresh `contextvars.Context` per use."""
    return await asyncio.create_task(coro, context=contextvars.Context())


async def _migrate(url: str) -> None:
    EXECUTOR_CACHE.clear()
    try:
        await apply_migrations(url)
    finally:
        await Tortoise.close_connections()


def _asyncpg_dsn(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


def pg_url(database: str) -> str:
    return PG_DSN.rsplit("/", 1)[0] + "/" + database


async def pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(PG_DSN))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def pg_version() -> str | None:
    try:
        conn = await asyncpg.connect(_asyncpg_dsn(PG_DSN), timeout=5)
    except (OSError, asyncpg.PostgresError):
        return None
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


@dataclass
class BenchDatabase:
    dialect: str
    url: str
    data_dir: Path

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgres"

    @property
    def label(self) -> str:
        return "PostgreSQL" if self.is_postgres else "SQLite"

    async def connect(self) -> asyncpg.Connection:
        """A raw asyncpg connection (PostgreSQL only), for COPY and admin statements."""
        return await asyncpg.connect(_asyncpg_dsn(self.url))


@contextlib.asynccontextmanager
async def fresh_database(dialect: str) -> AsyncIterator[BenchDatabase]:
    """A new migrated database, dropped (PostgreSQL) or deleted (SQLite) afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"berth-bench-{dialect}-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        if dialect == "sqlite":
            url = f"sqlite://{data_dir / 'berth.sqlite3'}"
            name = None
        else:
            name = f"berth_bench_{uuid.uuid4().hex[:10]}"
            await pg_admin(f'CREATE DATABASE "{name}"')
            url = pg_url(name)
        try:
            await isolated(_migrate(url))
            yield BenchDatabase(dialect=dialect, url=url, data_dir=data_dir)
        finally:
            if name is not None:
                await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.asynccontextmanager
async def opened(db: BenchDatabase) -> AsyncIterator[None]:
    """Tortoise opened on the database in this process (for the lifecycle and the ORM);
    enter it inside `isolated(…)`."""
    # Tortoise caches INSERT SQL per connection name: the other dialect's must not be reused.
    EXECUTOR_CACHE.clear()
    await Tortoise.init(config=tortoise_config(db.url))
    try:
        yield
    finally:
        await Tortoise.close_connections()
