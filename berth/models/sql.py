"""Tiny helpers for the few statements Tortoise's query builder cannot express
(guarded `UPDATE … RETURNING`, counters bumped under the row lock), and the one place
that builds model instances from raw rows (`fetch_rows`, which knows Tortoise's internals)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from tortoise import connections
from tortoise import timezone as tortoise_timezone
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.fields.data import CharEnumFieldInstance, DatetimeField
from tortoise.models import Model
from tortoise.queryset import QuerySet

CONNECTION = "default"

M = TypeVar("M", bound=Model)


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


# ---------------------------------------------------------------- rows, built quickly

def _datetime_converter(field: DatetimeField[Any]) -> Any:
    """Tortoise's conversion of a stored moment, with the common case made cheap: SQLite
    returns ISO text, which `datetime.fromisoformat` parses many times faster than the
    general parser Tortoise uses. Anything else (naive text, other types) goes to Tortoise."""
    slow = field.to_python_value

    def convert(value: Any) -> Any:
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                return slow(value)
            if parsed.tzinfo is not None and tortoise_timezone.get_use_tz():
                return parsed.astimezone(tortoise_timezone.get_default_timezone())
        return slow(value)

    return convert


def _enum_converter(enum_type: type[Enum]) -> Any:
    """`enum_type(value)` through a dict lookup: what Tortoise's CharEnumField does per row,
    at a fraction of the cost (an unknown value still raises, through the enum)."""
    members = {str(member.value): member for member in enum_type}

    def convert(value: Any) -> Any:
        if value is None:
            return None
        member = members.get(value)
        return member if member is not None else enum_type(value)

    return convert


_Plan = tuple[bool, bool, tuple[tuple[str, Any, bool], ...]]
_plans: dict[tuple[type[Model], tuple[str, ...]], _Plan] = {}


def _plan(model: type[Model], columns: tuple[str, ...]) -> _Plan:
    """How each selected column becomes an attribute: (partial, custom pk, [(attribute,
    converter or None, convert None too)]), as `Model._init_from_db` does it."""
    plan = _plans.get((model, columns))
    if plan is not None:
        return plan
    meta = model._meta
    steps: dict[str, tuple[str, Any, bool]] = {}
    for key, attribute, _ in meta.db_native_fields:
        steps[key] = (attribute, None, False)
    for key, attribute, column in meta.db_default_fields:
        steps[key] = (attribute, column.field_type, False)
    for key, attribute, column in meta.db_complex_fields:
        if isinstance(column, DatetimeField):
            convert = _datetime_converter(column)
        elif isinstance(column, CharEnumFieldInstance):
            convert = _enum_converter(column.enum_type)
        else:
            convert = column.to_python_value
        steps[key] = (attribute, convert, True)
    every = {key for key, _, _ in (*meta.db_native_fields, *meta.db_default_fields, *meta.db_complex_fields)}
    plan = (
        not every <= set(columns),
        meta.db_pk_column not in meta.generated_db_fields,
        tuple(steps[column] for column in columns),
    )
    _plans[(model, columns)] = plan
    return plan


async def fetch_rows(query: QuerySet[M]) -> list[M]:
    """`await query` for a plain select (no related, prefetch or annotation): the same SQL
    statement, the same instances (`Model._init_from_db` semantics, `.only()` partial ones
    included), built without Tortoise's per-row and per-field overhead."""
    model = query.model
    query._choose_db_if_not_chosen()
    query._make_query()
    _, rows = await query._db.execute_query(*query.query.get_parameterized_sql())
    if not rows:
        return []
    partial, custom_pk, steps = _plan(model, tuple(rows[0].keys()))
    instances: list[M] = []
    new = object.__new__
    for row in rows:
        instance = new(model)
        attributes = instance.__dict__
        attributes["_partial"] = partial
        attributes["_saved_in_db"] = True
        attributes["_custom_generated_pk"] = custom_pk
        attributes["_await_when_save"] = {}
        for (attribute, convert, always), value in zip(steps, row, strict=True):
            attributes[attribute] = convert(value) if convert is not None and (always or value is not None) else value
        instances.append(instance)
    return instances
