"""A minimal `graphql-transport-ws` client: one WebSocket, many subscriptions on it.

Each received `next` is stamped with `time.time()` as soon as its frame is read (before
the JSON is decoded) and handed to the subscription's callback with that stamp.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

OnNext = Callable[[dict[str, Any], float], None]
OnEnd = Callable[[str | None], None]  # error text, or None when completed normally

_ids = itertools.count(1)


class GraphQLWebSocket:
    def __init__(self, url: str, token: str) -> None:
        self.url = url.replace("http://", "ws://") + "/graphql"
        self.token = token
        self.ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._handlers: dict[str, tuple[OnNext, OnEnd | None]] = {}
        self.closed_reason: str | None = None

    async def open(self, within: float = 30) -> GraphQLWebSocket:
        self.ws = await connect(self.url, subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                                max_size=None, ping_interval=None, open_timeout=within)
        await self.ws.send(json.dumps({"type": "connection_init",
                                       "payload": {"authorization": f"Bearer {self.token}"}}))
        ack = json.loads(await asyncio.wait_for(self.ws.recv(), within))
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"no connection_ack: {ack}")
        self._task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for raw in self.ws:
                received = time.time()
                message = json.loads(raw)
                kind = message.get("type")
                handler = self._handlers.get(message.get("id", ""))
                if kind == "next" and handler is not None:
                    handler[0](message.get("payload") or {}, received)
                elif kind in ("error", "complete") and handler is not None:
                    self._handlers.pop(message["id"], None)
                    if handler[1] is not None:
                        handler[1](json.dumps(message.get("payload")) if kind == "error" else None)
                elif kind == "ping":
                    await self.ws.send(json.dumps({"type": "pong"}))
        except Exception as exc:  # the connection ended: tell every subscription
            self.closed_reason = f"{type(exc).__name__}: {exc}"
        finally:
            for _next, on_end in list(self._handlers.values()):
                if on_end is not None:
                    on_end(self.closed_reason or "connection closed")
            self._handlers.clear()

    async def subscribe(self, query: str, variables: dict[str, Any], on_next: OnNext,
                        on_end: OnEnd | None = None) -> str:
        assert self.ws is not None
        op_id = str(next(_ids))
        self._handlers[op_id] = (on_next, on_end)
        await self.ws.send(json.dumps({"id": op_id, "type": "subscribe",
                                       "payload": {"query": query, "variables": variables}}))
        return op_id

    async def stop(self, op_id: str) -> None:
        if self.ws is not None and self._handlers.pop(op_id, None) is not None:
            with contextlib.suppress(Exception):
                await self.ws.send(json.dumps({"id": op_id, "type": "complete"}))

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 10)
