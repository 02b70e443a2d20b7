"""Relay global ids for the schema; the encoding lives in `berth.ids` (the HTTP endpoints decode them too)."""

from __future__ import annotations

from berth.domain.errors import UserFacingError
from berth.ids import from_global_id, pk_of, to_global_id

__all__ = ["decode", "from_global_id", "pk_of", "to_global_id"]


def decode(global_id: str | None, type_name: str, field: list[str]) -> int:
    """The primary key behind a global id; a foreign or malformed id is NOT_FOUND for that field."""
    pk = pk_of(global_id, type_name) if global_id else None
    if pk is None:
        raise UserFacingError("NOT_FOUND", f"No {type_name} with id {global_id!r}.", field)
    return pk
