"""Connection cursors: opaque JSON positions, one codec per connection, decoded totally.

A cursor a client altered, made up, or took from another connection decodes to None (the
caller reports the argument), never to an exception: wrong keys, a non-integer or
out-of-column-range number (JSON allows `1e999`, which Python reads as infinity), or a
moment that is no moment in UTC.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from berth.domain.moments import BadMoment, parse_moment
from berth.domain.opaque import decode_opaque, encode_opaque

# Column ranges: ids are BIGINT, sequence numbers INTEGER.
MAX_BIGINT = 2**63 - 1
MAX_INT = 2**31 - 1


def _encode(payload: dict[str, Any]) -> str:
    # Padded, as cursors always were: clients may hold old ones (both forms decode).
    return encode_opaque(json.dumps(payload, separators=(",", ":")), padded=True)


def _payload(cursor: object, keys: set[str]) -> dict[str, Any] | None:
    text = decode_opaque(cursor)
    if text is None:
        return None
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return payload if isinstance(payload, dict) and set(payload) == keys else None


def _integer(value: object, low: int, high: int) -> int | None:
    # bool is an int in Python, and 1.0 an int-valued float: neither is one of ours.
    if type(value) is not int or not low <= value <= high:
        return None
    return value


def encode_deployment_cursor(created_at: datetime, pk: int) -> str:
    return _encode({"t": created_at.isoformat(), "i": pk})


def decode_deployment_cursor(cursor: object) -> tuple[datetime, int] | None:
    """The keyset position (created_at in UTC, id), or None."""
    payload = _payload(cursor, {"t", "i"})
    if payload is None:
        return None
    pk = _integer(payload["i"], 1, MAX_BIGINT)
    try:
        moment = parse_moment(payload["t"])
    except BadMoment:
        return None
    return (moment, pk) if pk is not None else None


def encode_log_cursor(seq: int) -> str:
    return _encode({"s": seq})


def decode_log_cursor(cursor: object) -> int | None:
    """The seq after which the page starts, or None."""
    payload = _payload(cursor, {"s"})
    return _integer(payload["s"], 0, MAX_INT) if payload is not None else None
