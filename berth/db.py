"""Opening and closing the database, and applying migrations (aerich) for either dialect."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

from aerich import Command
from tortoise import Tortoise

from berth.settings import Settings

MIGRATIONS_ROOT = Path(__file__).resolve().parent / "migrations"
APP = "models"
# A fixed advisory-lock key: every Berth process migrating one PostgreSQL database waits on it.
MIGRATION_LOCK_KEY = zlib.crc32(b"berth:migrations")


def dialect_of(database_url: str) -> str:
    if database_url.startswith("sqlite"):
        return "sqlite"
    if database_url.startswith(("postgres", "asyncpg")):
        return "postgres"
    raise ValueError(f"unsupported database URL scheme in {database_url.split(':', 1)[0]!r}")


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": database_url},
        "apps": {APP: {"models": ["berth.models", "aerich.models"], "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


def migrations_location(dialect: str) -> Path:
    """aerich writes dialect-specific SQL, so each dialect keeps its own folder."""
    return MIGRATIONS_ROOT / dialect


async def open_db(settings: Settings) -> None:
    if settings.is_sqlite:
        settings.ensure_data_dir()
    # The ASGI lifespan runs in its own task; requests run in others. The global fallback
    # lets them all see the connections the lifespan opened.
    await Tortoise.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()


async def apply_migrations(database_url: str) -> list[str]:
    """Apply pending migrations; on PostgreSQL under an advisory lock held on its own
    connection, so processes starting at once take turns instead of racing."""
    dialect = dialect_of(database_url)
    if dialect == "postgres":
        import asyncpg

        lock_conn = await asyncpg.connect(_asyncpg_dsn(database_url))
        try:
            await lock_conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
            try:
                return await _upgrade(database_url, dialect)
            finally:
                await lock_conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
        finally:
            await lock_conn.close()
    return await _upgrade(database_url, dialect)


async def _upgrade(database_url: str, dialect: str) -> list[str]:
    command = Command(
        tortoise_config=tortoise_config(database_url), app=APP, location=str(migrations_location(dialect))
    )
    try:
        await command.init()
        return await command.upgrade(run_in_transaction=True)
    finally:
        # aerich opened Tortoise on its own; the caller opens it again for its work.
        await Tortoise.close_connections()


def _asyncpg_dsn(database_url: str) -> str:
    scheme, rest = database_url.split("://", 1)
    return "postgresql://" + rest
