"""Cap the size of what one response (or one WebSocket event) sends.

The cost limit refuses what is obviously too much before it runs; this is the backstop for
what it cannot see (a huge log line, a compose file of megabytes): a response whose JSON
would be longer than the cap is replaced by one `RESPONSE_TOO_LARGE` error. Over WebSocket
only the event's payload is replaced, so the operation's `id` and message type stay and the
connection carries on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

# WebSocket messages whose payload is an operation's result (graphql-transport-ws, graphql-ws).
RESULT_MESSAGES = ("next", "data")


def too_large_error(size: int, limit: int) -> dict[str, Any]:
    return {
        "message": f"Response too large: {size} bytes, the limit is {limit} "
                   "(ask for smaller pages or fewer fields).",
        "extensions": {"code": "RESPONSE_TOO_LARGE", "size": size, "limit": limit},
    }


def encode_capped(data: object, limit: int, encode: Callable[[object], str | bytes]) -> str | bytes:
    """`encode(data)`, or, when that is longer than `limit` bytes, the same shape with the
    result replaced by a RESPONSE_TOO_LARGE error."""
    encoded = encode(data)
    # len() of a str counts characters, a lower bound of its UTF-8 size: exact when it is
    # ASCII (json.dumps escapes the rest by default), and checked in bytes when close.
    size = len(encoded)
    if size <= limit:
        return encoded
    if isinstance(encoded, str):
        size = len(encoded.encode())
        if size <= limit:
            return encoded
    error = too_large_error(size, limit)
    if isinstance(data, dict) and data.get("type") in RESULT_MESSAGES and "payload" in data:
        replaced: dict[str, Any] = {**data, "payload": {"data": None, "errors": [error]}}
    else:
        replaced = {"data": None, "errors": [error]}
    return json.dumps(replaced, separators=(",", ":"))
