"""Tiny helpers for the few statements Tortoise's query builder cannot express
(guarded `UPDATE … RETURNING`, counters bumped under the row lock)."""

from __future__ import annotations

from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

CONNECTION = "default"


def get_connection() -> BaseDBAsyncClient:
    return connections.get(CONNECTION)


def dialect(conn: BaseDBAsyncClient) -> str:
    return str(conn.capabilities.dialect)


def placeholders(conn: BaseDBAsyncClient, sql: str) -> str:
    """Write statements with `?` and turn them into `$1, $2 …` for asyncpg."""
    if dialect(conn) != "postgres":
        return sql
    parts = sql.split("?")
    out = [parts[0]]
    for index, part in enumerate(parts[1:], start=1):
        out.append(f"${index}{part}")
    return "".join(out)


async def fetch(conn: BaseDBAsyncClient, sql: str, values: list[Any]) -> list[dict[str, Any]]:
    return [dict(row) for row in await conn.execute_query_dict(placeholders(conn, sql), values)]
