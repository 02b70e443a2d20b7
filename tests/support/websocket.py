"""A raw WebSocket client for `/graphql` speaking either subprotocol by hand: for what gql
hides or refuses to do (close codes, the legacy graphql-ws protocol, malformed messages,
a client that stops reading)."""

from __future__ import annotations

import asyncio
import json
import socket as sockets
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.collector import Collector
from tests.support.graphql import TRANSPORT_WS
from tests.support.live_server import LiveServer

TIMEOUT = 30.0
# Keep-alive messages of either protocol: not part of any exchange under test.
KEEP_ALIVE = frozenset({"ping", "pong", "ka"})


def stalled_connect_args(server: LiveServer) -> dict[str, Any]:
    """`connect` arguments for a client that reads nothing unless asked: a tiny receive
    buffer and a one-frame queue, so the server's sends to it block soon (TCP flow
    control), as with a stalled browser tab."""
    raw = sockets.socket(sockets.AF_INET, sockets.SOCK_STREAM)
    raw.setsockopt(sockets.SOL_SOCKET, sockets.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", server.port))
    raw.setblocking(False)
    return {"sock": raw, "max_queue": 1}


@dataclass
class RawSocket:
    url: str
    subprotocol: str
    headers: dict[str, str] = field(default_factory=dict)
    # Extra arguments for `websockets.connect` (e.g. a prepared `sock`, `max_queue`).
    connect_args: dict[str, Any] = field(default_factory=dict)
    socket: ClientConnection | None = None
    received: list[dict[str, Any]] = field(default_factory=list)
    # Every message as it arrived on the wire (to search for what must never be sent).
    frames: list[str] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""

    async def __aenter__(self) -> RawSocket:
        self.socket = await connect(
            self.url,
            subprotocols=[self.subprotocol],  # type: ignore[list-item]
            additional_headers=self.headers,
            **self.connect_args,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.socket is not None
        await self.socket.close()

    async def send(self, message: dict[str, Any] | str) -> None:
        assert self.socket is not None
        await self.socket.send(message if isinstance(message, str) else json.dumps(message))

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any] | None:
        """The next message; None when the server closed the connection (see close_code)."""
        assert self.socket is not None
        try:
            async with asyncio.timeout(timeout):
                raw = await self.socket.recv()
        except ConnectionClosed as closed:
            if closed.rcvd is not None:
                self.close_code, self.close_reason = closed.rcvd.code, closed.rcvd.reason
            return None
        self.frames.append(str(raw))
        message: dict[str, Any] = json.loads(raw)
        self.received.append(message)
        return message

    async def recv_type(self, *types: str, timeout: float = TIMEOUT) -> dict[str, Any] | None:
        """The next message of one of `types`, skipping others; None when closed."""
        async with asyncio.timeout(timeout):
            while True:
                message = await self.recv(timeout)
                if message is None or message.get("type") in types:
                    return message

    async def receive(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next message that is not a keep-alive (the connection must stay open)."""
        async with asyncio.timeout(timeout):
            while True:
                message = await self.recv(timeout)
                assert message is not None, f"closed ({self.close_code}) instead of a message"
                if message.get("type") not in KEEP_ALIVE:
                    return message

    async def closed(self, timeout: float = TIMEOUT, *, silently: bool = False) -> int | None:
        """Read until the server closes; returns the close code. `silently`: no message
        but keep-alives may come first."""
        async with asyncio.timeout(timeout):
            while (message := await self.recv(timeout)) is not None:
                assert not silently or message.get("type") in KEEP_ALIVE, f"a message instead of the close: {message}"
        return self.close_code

    async def init(self, secret: str | None) -> dict[str, Any] | None:
        payload = {"authorization": f"Bearer {secret}"} if secret else {}
        await self.send({"type": "connection_init", "payload": payload})
        return await self.recv_type("connection_ack", "connection_error")

    async def subscribe(self, op_id: str, query: str, variables: dict[str, Any] | None = None) -> None:
        kind = "subscribe" if self.subprotocol == TRANSPORT_WS else "start"
        await self.send({"id": op_id, "type": kind, "payload": {"query": query, "variables": variables or {}}})

    async def collect_all(self, collectors: dict[str, Collector], timeout: float = TIMEOUT) -> None:
        """Read several operations of this connection into their collectors until all ended."""
        data_type = "next" if self.subprotocol == TRANSPORT_WS else "data"
        async with asyncio.timeout(timeout):
            while not all(c.done for c in collectors.values()):
                message = await self.recv(timeout)
                if message is None:
                    for collector in collectors.values():
                        collector.finish((self.close_code, self.close_reason))
                    return
                target = collectors.get(message.get("id", ""))
                if target is None:
                    continue
                if message["type"] == data_type:
                    payload = message["payload"]
                    if payload.get("errors"):
                        target.fail(payload["errors"])
                    else:
                        target.add(next(iter(payload["data"].values())))
                elif message["type"] == "complete":
                    target.complete()
                elif message["type"] == "error":
                    errors = message["payload"]
                    target.fail(errors if isinstance(errors, list) else [errors])

    async def collect(self, op_id: str, collector: Collector, timeout: float = TIMEOUT) -> Collector:
        """Read this operation's results into `collector` until it completes or fails."""
        data_type = "next" if self.subprotocol == TRANSPORT_WS else "data"
        async with asyncio.timeout(timeout):
            while True:
                message = await self.recv(timeout)
                if message is None:
                    collector.finish((self.close_code, self.close_reason))
                    return collector
                if message.get("id") != op_id:
                    continue
                if message["type"] == data_type:
                    payload = message["payload"]
                    if payload.get("errors"):
                        collector.fail(payload["errors"])
                        return collector
                    collector.add(next(iter(payload["data"].values())))
                elif message["type"] == "complete":
                    collector.complete()
                    return collector
                elif message["type"] == "error":
                    errors = message["payload"]
                    collector.fail(errors if isinstance(errors, list) else [errors])
                    return collector


@dataclass
class Closed:
    """What a raw WebSocket exchange ended with: the messages received, then the close."""

    messages: list[dict[str, Any]]
    code: int | None
    reason: str


async def exchange(
    url: str,
    subprotocol: str,
    messages: list[dict[str, Any]],
    *,
    headers: dict[str, str] | None = None,
    until: str | None = None,
    timeout: float = 15.0,
) -> Closed:
    """Open a WebSocket with `subprotocol`, send `messages`, then read until the server closes
    (or a message of type `until` arrives, or `timeout` passes). Returns what was received
    (keep-alive messages aside) and the close code (None when the server did not close)."""
    received: list[dict[str, Any]] = []
    reason = ""
    async with RawSocket(url, subprotocol, headers=headers or {}) as socket:
        for message in messages:
            await socket.send(message)
        try:
            async with asyncio.timeout(timeout):
                while (item := await socket.recv(timeout)) is not None:
                    if item.get("type") in KEEP_ALIVE:
                        continue
                    received.append(item)
                    if until is not None and item.get("type") == until:
                        break
        except TimeoutError:
            reason = f"timed out after {timeout}s"
    return Closed(received, socket.close_code, socket.close_reason or reason)
