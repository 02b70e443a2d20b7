"""The request body limit (CONTRACT §6, 256 KiB) for WebSocket messages, on both protocols.

A message over the limit closes the socket with 1009 (RFC 6455 "message too big"): a
protocol-level answer that graphql-transport-ws and the legacy graphql-ws read alike, and
that stops a client from streaming more of the same. The check wraps the ASGI `receive`, so
the GraphQL handlers never see (nor parse) the oversized message; uvicorn is also started
with the same `ws_max_size`, so it does not buffer more than that in the first place.
"""

from __future__ import annotations

from starlette.types import Message, Receive, Send

MESSAGE_TOO_BIG = 1009


def over_limit(message: Message, limit: int) -> bool:
    """Whether a received message is longer than `limit` bytes (UTF-8 for text)."""
    text = message.get("text")
    if text is not None:
        # A character is 1 to 4 bytes: only a text between limit/4 and limit is encoded.
        if len(text) > limit:
            return True
        return len(text) * 4 > limit and len(text.encode()) > limit
    data = message.get("bytes")
    return data is not None and len(data) > limit


def limit_message_size(receive: Receive, send: Send, limit: int) -> Receive:
    """`receive` that closes the socket (1009) instead of passing on a message over `limit`
    bytes; the application then sees a disconnect."""

    async def limited() -> Message:
        message = await receive()
        if message["type"] == "websocket.receive" and over_limit(message, limit):
            await send({"type": "websocket.close", "code": MESSAGE_TOO_BIG,
                        "reason": f"Message too big (limit {limit} bytes)"})
            return {"type": "websocket.disconnect", "code": MESSAGE_TOO_BIG}
        return message

    return limited
