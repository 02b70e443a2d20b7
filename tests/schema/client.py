"""One GraphQL test client for the real server: HTTP (httpx) and WebSocket (gql, raw websockets).

`GraphQLClient` speaks to `/graphql` of a running `berth serve` as a frontend or an agent
would: POST and GET over HTTP, subscriptions over `graphql-transport-ws` through the gql
library, and the legacy `graphql-ws` protocol (and close codes, which gql hides) through a
raw `websockets` connection.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
TIMEOUT = 15.0
# Keep-alive messages of either protocol: not part of any exchange under test.
KEEP_ALIVE = frozenset({"ping", "pong", "ka"})


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


@dataclass
class Result:
    """One GraphQL response: `data` and `errors` as the server sent them."""

    data: Any
    errors: list[dict[str, Any]] = field(default_factory=list)
    # For WebSocket results: "next" (a result) or "error" (an operation refused before execution).
    kind: str = "next"

    @classmethod
    def of(cls, body: dict[str, Any], kind: str = "next") -> Result:
        return cls(data=body.get("data"), errors=list(body.get("errors") or []), kind=kind)

    def codes(self) -> list[str | None]:
        return [(e.get("extensions") or {}).get("code") for e in self.errors]


@dataclass
class Closed:
    """What a raw WebSocket exchange ended with: the messages received, then the close."""

    messages: list[dict[str, Any]]
    code: int | None
    reason: str


class GraphQLClient:
    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url
        self.http_url = base_url + "/graphql"
        self.ws_url = "ws" + base_url.removeprefix("http") + "/graphql"
        self.token = token
        self._http = httpx.Client(timeout=TIMEOUT)

    def with_token(self, token: str | None) -> GraphQLClient:
        return GraphQLClient(self.base_url, token)

    def close(self) -> None:
        self._http.close()

    # -- HTTP -----------------------------------------------------------------

    def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        body: dict[str, Any] = {"query": query}
        if variables:
            body["variables"] = variables
        return self._http.post(self.http_url, json=body, headers={**bearer(self.token), **(headers or {})})

    def get(self, query: str, variables: dict[str, Any] | None = None, *, headers: dict[str, str] | None = None) -> httpx.Response:
        params = {"query": query}
        if variables:
            params["variables"] = json.dumps(variables)
        return self._http.get(self.http_url, params=params, headers={**bearer(self.token), **(headers or {})})

    def execute(self, query: str, variables: dict[str, Any] | None = None) -> Result:
        """POST and expect an HTTP 200 GraphQL response."""
        response = self.post(query, variables)
        assert response.status_code == 200, (response.status_code, response.text)
        return Result.of(response.json())

    # -- WebSocket: graphql-transport-ws via gql ------------------------------

    async def subscribe(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        limit: int | None = None,
        init_payload: dict[str, Any] | None = None,
        timeout: float = TIMEOUT,
    ) -> list[Result]:
        """Run one operation over graphql-transport-ws and collect its results until it
        completes (or `limit` results arrived). The credential goes in `connection_init`."""
        payload = init_payload if init_payload is not None else (
            {"authorization": f"Bearer {self.token}"} if self.token else {}
        )
        transport = WebsocketsTransport(url=self.ws_url, init_payload=payload, subprotocols=[TRANSPORT_WS])
        results: list[Result] = []
        async with asyncio.timeout(timeout):
            async with Client(transport=transport, fetch_schema_from_transport=False):
                request = gql(query)
                if variables:
                    request.variable_values = variables
                try:
                    # The transport's own generator yields results with errors instead of
                    # raising on them, so partial results can be inspected.
                    async for item in transport.subscribe(request):
                        results.append(
                            Result(data=item.data, errors=[dict(e) for e in item.errors or []])
                        )
                        if limit is not None and len(results) >= limit:
                            break
                except TransportQueryError as error:
                    # An `error` message: the operation was refused before execution.
                    results.append(Result(data=None, errors=[dict(e) for e in error.errors or []], kind="error"))
        return results


async def raw_ws(
    url: str,
    subprotocol: str,
    messages: list[dict[str, Any]],
    *,
    headers: dict[str, str] | None = None,
    until: str | None = None,
    timeout: float = TIMEOUT,
) -> Closed:
    """Open a WebSocket with `subprotocol`, send `messages`, then read until the server closes
    (or a message of type `until` arrives, or `timeout` passes). Returns what was received
    (keep-alive messages aside) and the close code (None when the server did not close)."""
    received: list[dict[str, Any]] = []
    code: int | None = None
    reason = ""
    try:
        async with asyncio.timeout(timeout):
            async with connect(url, subprotocols=[subprotocol], additional_headers=headers or {}) as ws:  # type: ignore[list-item]
                for message in messages:
                    await ws.send(json.dumps(message))
                try:
                    while True:
                        item = json.loads(await ws.recv())
                        if item.get("type") in KEEP_ALIVE:
                            continue
                        received.append(item)
                        if until is not None and item.get("type") == until:
                            break
                except ConnectionClosed as closed:
                    if closed.rcvd is not None:
                        code, reason = closed.rcvd.code, closed.rcvd.reason
    except TimeoutError:
        reason = f"timed out after {timeout}s"
    return Closed(received, code, reason)


class WsSession:
    """A raw WebSocket conversation, step by step (for what must happen between messages)."""

    def __init__(self, url: str, subprotocol: str, headers: dict[str, str] | None = None) -> None:
        self._connect = connect(url, subprotocols=[subprotocol], additional_headers=headers or {})  # type: ignore[list-item]
        self._ws: Any = None

    async def __aenter__(self) -> WsSession:
        self._ws = await self._connect.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._connect.__aexit__(*exc)  # type: ignore[arg-type]

    async def send(self, message: dict[str, Any]) -> None:
        await self._ws.send(json.dumps(message))

    async def closed(self, timeout: float = TIMEOUT) -> int | None:
        """Wait for the server to close the connection (no message may come first); its code."""
        async with asyncio.timeout(timeout):
            while True:
                try:
                    item = json.loads(await self._ws.recv())
                except ConnectionClosed as closed:
                    return closed.rcvd.code if closed.rcvd is not None else None
                assert item.get("type") in KEEP_ALIVE, f"a message instead of the close: {item}"

    async def receive(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next message that is not a keep-alive."""
        async with asyncio.timeout(timeout):
            while True:
                item: dict[str, Any] = json.loads(await self._ws.recv())
                if item.get("type") not in KEEP_ALIVE:
                    return item
