#!/usr/bin/env python3
"""Generate (or check) the aerich migrations of both dialects from the same models.

    python scripts/make_migrations.py [--name NAME]        # write new migrations, SQLite and PostgreSQL
    python scripts/make_migrations.py --check --database-url URL   # exit 1 if models and migrations differ

Each dialect runs in its own process: aerich and Tortoise keep global state.
PostgreSQL needs an admin DSN (BERTH_TEST_PG_DSN, default the test services' one) to make
a scratch database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aerich import Command  # noqa: E402
from tortoise import Tortoise  # noqa: E402

from berth.db import APP, dialect_of, migrations_location, tortoise_config  # noqa: E402

DEFAULT_PG = "postgres://berth:berth@127.0.0.1:5432/postgres"


async def _generate(database_url: str, location: Path, name: str) -> str:
    command = Command(tortoise_config=tortoise_config(database_url), app=APP, location=str(location))
    existing = list((location / APP).glob("*.py")) if (location / APP).exists() else []
    try:
        if not [p for p in existing if p.name[0].isdigit()]:
            await command.init_db(safe=True)
            return "initial migration written"
        await command.init()
        await command.upgrade(run_in_transaction=True)
        await command.init()
        return await command.migrate(name, no_input=True) or "no changes"
    finally:
        await Tortoise.close_connections()


async def _pending(database_url: str, location: Path) -> str:
    """Apply the committed migrations, then ask aerich for a diff in a scratch copy."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "migrations"
        shutil.copytree(location, copy)
        command = Command(tortoise_config=tortoise_config(database_url), app=APP, location=str(copy))
        try:
            await command.init()
            await command.upgrade(run_in_transaction=True)
            # Re-read the applied state: init() took it from the still-empty database.
            await command.init()
            return await command.migrate("pending_check", no_input=True) or ""
        finally:
            # aiosqlite's worker thread keeps the process alive until the connection closes.
            await Tortoise.close_connections()


def _scratch_database(dialect: str, workdir: Path) -> tuple[str, str | None]:
    if dialect == "sqlite":
        return f"sqlite://{workdir / 'scratch.sqlite3'}", None
    admin = os.environ.get("BERTH_TEST_PG_DSN", DEFAULT_PG)
    name = f"berth_mig_{uuid.uuid4().hex[:10]}"
    _pg_admin(admin, f'CREATE DATABASE "{name}"')
    return admin.rsplit("/", 1)[0] + "/" + name, name


def _pg_admin(admin_dsn: str, sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect("postgresql://" + admin_dsn.split("://", 1)[1])
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def _one_dialect(dialect: str, name: str) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        url, pg_name = _scratch_database(dialect, Path(workdir))
        try:
            print(f"{dialect}: {asyncio.run(_generate(url, migrations_location(dialect), name))}")
        finally:
            if pg_name:
                _pg_admin(os.environ.get("BERTH_TEST_PG_DSN", DEFAULT_PG), f'DROP DATABASE "{pg_name}"')


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--name", default="update")
    parser.add_argument("--check", action="store_true", help="report pending model changes and exit 1 if any")
    parser.add_argument("--database-url", help="with --check: an empty database of the dialect to check")
    parser.add_argument("--dialect", choices=["sqlite", "postgres"], help="only this dialect")
    args = parser.parse_args()
    if args.check:
        if not args.database_url:
            parser.error("--check needs --database-url")
        diff = asyncio.run(_pending(args.database_url, migrations_location(dialect_of(args.database_url))))
        if diff:
            print(f"pending model changes not in migrations: {diff}")
            return 1
        print("no pending changes")
        return 0
    if args.dialect:
        _one_dialect(args.dialect, args.name)
        return 0
    for dialect in ("sqlite", "postgres"):
        subprocess.run([sys.executable, __file__, "--dialect", dialect, "--name", args.name], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
