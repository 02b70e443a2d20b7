"""Subscriptions over WebSocket (`graphql-transport-ws`), resumed by seq across disconnects.

`deploymentEvents` and `deploymentLogs` (and its batched form) replay everything after `afterSeq` and then
stream live (CONTRACT §5), so a client that reconnects with the last seq it received
misses nothing and gets nothing twice. `SeqStream` does exactly that: it remembers
the last seq, reconnects with backoff while the server is away (a restart, a network
blip), and ends when the server completes the operation.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

from berth.client.config import ClientConfig
from berth.client.errors import AuthProblem, ServerProblem, ServerUnreachable
from berth.client.graphql_errors import LOGIN_HINT, raise_for_errors

PROTOCOL = Subprotocol("graphql-transport-ws")
ACK_TIMEOUT = 10.0
RECONNECT_FOR = 300.0  # give up after this long without a working connection
BACKOFF = (0.1, 0.25, 0.5, 1.0, 2.0)

Notice = Callable[[str], None]


class _Retry(Exception):
    """The connection went away before the operation completed: connect again."""


class SeqStream:
    """Items of one subscription field that carries `seq`, exactly once and in order."""

    def __init__(
        self,
        config: ClientConfig,
        document: str,
        field: str,
        variables: dict[str, Any],
        *,
        after_seq: int = 0,
        notice: Notice | None = None,
        reconnect_for: float = RECONNECT_FOR,
    ) -> None:
        self.config = config
        self.document = document
        self.field = field
        self.variables = variables
        self.last_seq = after_seq
        self.notice = notice or (lambda text: None)
        self.reconnect_for = reconnect_for

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        failures = 0
        down_since: float | None = None
        while True:
            try:
                async for item in self._one_connection():
                    if down_since is not None:
                        self.notice(f"reconnected to {self.config.url}")
                        down_since, failures = None, 0
                    yield item
                return
            except _Retry as reason:
                now = time.monotonic()
                if down_since is None:
                    down_since = now
                    self.notice(f"connection to {self.config.url} lost ({reason}); reconnecting")
                elif now - down_since > self.reconnect_for:
                    raise ServerUnreachable(
                        f"server unreachable at {self.config.url} for {self.reconnect_for:.0f}s ({reason})"
                    ) from None
                await asyncio.sleep(BACKOFF[min(failures, len(BACKOFF) - 1)])
                failures += 1

    async def _one_connection(self) -> AsyncIterator[dict[str, Any]]:
        url = self.config.url
        try:
            async with connect(self.config.ws_url, subprotocols=[PROTOCOL], open_timeout=10) as socket:
                await self._init(socket)
                variables = {**self.variables, "afterSeq": self.last_seq}
                payload = {"query": self.document, "variables": variables}
                await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
                async for raw in socket:
                    message = _decode(raw, url)
                    kind = message.get("type")
                    if kind == "ping":
                        await socket.send(json.dumps({"type": "pong"}))
                    elif kind == "next":
                        for item in self._items(message.get("payload") or {}):
                            if int(item["seq"]) > self.last_seq:
                                self.last_seq = int(item["seq"])
                                yield item
                    elif kind == "error":
                        raise_for_errors(_error_list(message.get("payload")), url)
                        raise ServerProblem(f"the server at {url} refused the subscription")
                    elif kind == "complete":
                        return
                raise _Retry("closed by the server")
        except ConnectionClosed as closed:
            raise _for_close(closed, url) from None
        except InvalidStatus as refused:
            status = refused.response.status_code
            if status in (401, 403):
                raise AuthProblem(f"WebSocket refused by {url} (HTTP {status}; {LOGIN_HINT})") from None
            if status == 404:
                raise ServerProblem(f"no GraphQL endpoint at {self.config.ws_url} (HTTP 404)") from None
            raise _Retry(f"HTTP {status}") from None
        except (OSError, TimeoutError, InvalidHandshake) as error:
            raise _Retry(str(error) or type(error).__name__) from None

    async def _init(self, socket: ClientConnection) -> None:
        payload = {"authorization": f"Bearer {self.config.token}"} if self.config.token else {}
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        async with asyncio.timeout(ACK_TIMEOUT):
            while True:
                message = _decode(await socket.recv(), self.config.url)
                if message.get("type") == "connection_ack":
                    return
                if message.get("type") == "ping":
                    await socket.send(json.dumps({"type": "pong"}))

    def _items(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """The seq-carrying items of one message: the item itself, or a batch's `lines`."""
        raise_for_errors(payload.get("errors") or [], self.config.url)
        item = (payload.get("data") or {}).get(self.field)
        if not isinstance(item, dict):
            return []
        lines = item.get("lines")
        if isinstance(lines, list):
            return [line for line in lines if isinstance(line, dict)]
        return [item]


def _decode(raw: str | bytes, url: str) -> dict[str, Any]:
    try:
        message = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ServerProblem(f"{url} sent a WebSocket message that is not JSON") from None
    if not isinstance(message, dict):
        raise ServerProblem(f"{url} sent a WebSocket message that is not an object")
    return message


def _error_list(payload: Any) -> list[dict[str, Any]]:
    if isinstance(payload, list):
        return [item for item in payload if isinstance(item, dict)]
    return [payload] if isinstance(payload, dict) else []


def _for_close(closed: ConnectionClosed, url: str) -> Exception:
    frame = closed.rcvd
    code = frame.code if frame is not None else None
    reason = (frame.reason if frame is not None else "") or "no reason given"
    if code == 4403:
        return AuthProblem(f"credential refused by {url}: {reason} ({LOGIN_HINT})")
    if code is not None and 4400 <= code < 4500:
        return ServerProblem(f"the server at {url} closed the subscription ({code}: {reason})")
    return _Retry(f"closed with {code}" if code is not None else "connection dropped")
