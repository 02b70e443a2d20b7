"""Relay global ids: opaque base64url of `Type:pk`, so clients never build ids themselves.

Shared by the GraphQL layer and the HTTP endpoints, so it belongs to neither. Decoding is
total: whatever a client sends, the answer is (type, pk) or None, never an exception.
"""

from __future__ import annotations

import re

from berth.domain.opaque import decode_opaque, encode_opaque

# `Type:pk`: a GraphQL type name and the decimal primary key (ASCII digits only: `²` and
# `٣` are digits to str.isdigit). 18 digits always fit a BIGINT.
_GLOBAL_ID = re.compile(r"([A-Za-z][A-Za-z0-9]*):([0-9]{1,18})")


def to_global_id(type_name: str, pk: int) -> str:
    return encode_opaque(f"{type_name}:{pk}")


def from_global_id(global_id: object) -> tuple[str, int] | None:
    """(type, pk), or None when the id is not one of ours."""
    text = decode_opaque(global_id)
    match = _GLOBAL_ID.fullmatch(text) if text is not None else None
    if match is None:
        return None
    return match.group(1), int(match.group(2))


def pk_of(global_id: object, expected_type: str) -> int | None:
    decoded = from_global_id(global_id)
    if decoded is None or decoded[0] != expected_type:
        return None
    return decoded[1]
