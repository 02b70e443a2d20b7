"""Relay global ids for the schema; the encoding lives in `berth.ids` (the HTTP endpoints decode them too)."""

from berth.ids import from_global_id, pk_of, to_global_id

__all__ = ["from_global_id", "pk_of", "to_global_id"]
