"""Test databases, built only through the committed migrations (never generate_schemas).

Each dialect gets one migrated template per test session; every test then gets a copy
(a file copy for SQLite, `CREATE DATABASE … TEMPLATE` for PostgreSQL), so tests start
from a fresh database without paying for the migrations each time.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE

from berth.db import apply_migrations
from tests.services import PG_DSN, postgres_available, skip_or_fail

DIALECTS = ("sqlite", "postgres")


def _pg_server_dsn(database: str) -> str:
    return PG_DSN.rsplit("/", 1)[0] + "/" + database


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect("postgresql://" + PG_DSN.split("://", 1)[1])
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _migrate(url: str) -> None:
    # Tortoise caches INSERT SQL per connection name; the other dialect's must not be reused.
    EXECUTOR_CACHE.clear()

    async def run() -> None:
        try:
            await apply_migrations(url)
        finally:
            await Tortoise.close_connections()

    asyncio.run(run())


class DatabaseTemplates:
    """Creates per-test databases from a migrated template of each dialect."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._sqlite_template: Path | None = None
        self._pg_template: str | None = None
        self.created_pg: list[str] = []

    def sqlite_template(self) -> Path:
        if self._sqlite_template is None:
            path = self.workdir / "template.sqlite3"
            _migrate(f"sqlite://{path}")
            self._sqlite_template = path
        return self._sqlite_template

    def pg_template(self) -> str:
        if self._pg_template is None:
            reason = postgres_available()
            if reason:
                skip_or_fail(reason)
            name = f"berth_tpl_{uuid.uuid4().hex[:10]}"
            asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
            self.created_pg.append(name)
            _migrate(_pg_server_dsn(name))
            self._pg_template = name
        return self._pg_template

    def new_database(self, dialect: str, directory: Path) -> str:
        """A fresh migrated database; returns its URL."""
        if dialect == "sqlite":
            target = directory / "berth.sqlite3"
            shutil.copyfile(self.sqlite_template(), target)
            return f"sqlite://{target}"
        template = self.pg_template()
        name = f"berth_t_{uuid.uuid4().hex[:12]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        self.created_pg.append(name)
        return _pg_server_dsn(name)

    async def drop(self, url: str) -> None:
        if url.startswith("postgres"):
            name = url.rsplit("/", 1)[1]
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if name in self.created_pg:
                self.created_pg.remove(name)

    def drop_all(self) -> None:
        for name in list(self.created_pg):
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.created_pg.clear()


def installation_uid(url: str) -> str | None:
    """The installation id a test database got (None if no Berth process created one)."""
    if url.startswith("sqlite"):
        import sqlite3

        path = url.removeprefix("sqlite://")
        with sqlite3.connect(path) as conn:
            row = conn.execute("SELECT uid FROM installation WHERE id = 1").fetchone()
        return str(row[0]) if row else None

    async def read() -> str | None:
        conn = await asyncpg.connect("postgresql://" + url.split("://", 1)[1])
        try:
            value = await conn.fetchval("SELECT uid FROM installation WHERE id = 1")
        finally:
            await conn.close()
        return str(value) if value else None

    return asyncio.run(read())
