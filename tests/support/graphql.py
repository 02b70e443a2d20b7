"""The GraphQL test client of the real server, as a frontend or an agent speaks to `/graphql`:
queries and mutations over HTTP (POST, and GET for what GET may carry) with a bearer token,
subscriptions over graphql-transport-ws through the gql library, either collected to their
end (`subscribe`) or followed in a background task (`stream`).

Protocol-level WebSocket tests (close codes, the legacy protocol) use `tests.support.websocket`.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import httpx
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport

from tests.support.collector import Collector

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
TIMEOUT = 15.0
# The payload `errors` selection of every mutation (CONTRACT: errors are data).
ERRORS = "errors { code message field }"


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def ws_url_of(base_url: str) -> str:
    return "ws" + base_url.removeprefix("http") + "/graphql"


class GraphQLFailure(AssertionError):
    """An operation that had to succeed answered with GraphQL errors."""


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


class GraphQLClient:
    """`/graphql` of the server at `base_url`, as the holder of `token` (None: anonymous).

    `transcript`, when given, receives every HTTP response body (to search for planted
    secrets). `with_token` gives a client for another credential on the same connections."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = TIMEOUT,
        transcript: list[str] | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url
        self.http_url = base_url + "/graphql"
        self.ws_url = ws_url_of(base_url)
        self.token = token
        self.transcript = transcript
        self._owns_http = http is None
        self.http = http if http is not None else httpx.Client(timeout=timeout)

    def with_token(self, token: str | None) -> GraphQLClient:
        return GraphQLClient(self.base_url, token, transcript=self.transcript, http=self.http)

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def __enter__(self) -> GraphQLClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- HTTP -----------------------------------------------------------------

    def _record(self, response: httpx.Response) -> httpx.Response:
        if self.transcript is not None:
            self.transcript.append(response.text)
        return response

    def post_body(self, body: object, *, headers: dict[str, str] | None = None) -> httpx.Response:
        """POST any JSON body (a batch, a body without `query`): for the limits of the endpoint."""
        return self._record(
            self.http.post(self.http_url, json=body, headers={**bearer(self.token), **(headers or {})})
        )

    def post(
        self, query: str, variables: dict[str, Any] | None = None, *, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        body: dict[str, Any] = {"query": query}
        if variables:
            body["variables"] = variables
        return self.post_body(body, headers=headers)

    def get(
        self, query: str, variables: dict[str, Any] | None = None, *, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        params = {"query": query}
        if variables:
            params["variables"] = json.dumps(variables)
        return self._record(
            self.http.get(self.http_url, params=params, headers={**bearer(self.token), **(headers or {})})
        )

    def body(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST and expect an HTTP 200 GraphQL response; its JSON body."""
        response = self.post(query, variables)
        assert response.status_code == 200, (response.status_code, response.text)
        body: dict[str, Any] = response.json()
        return body

    def execute(self, query: str, variables: dict[str, Any] | None = None) -> Result:
        """POST and expect an HTTP 200 GraphQL response."""
        return Result.of(self.body(query, variables))

    def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """An operation that must not produce GraphQL errors; its `data`."""
        body = self.body(query, variables)
        if body.get("errors"):
            raise GraphQLFailure(json.dumps(body["errors"], indent=2))
        data: dict[str, Any] = body["data"]
        return data

    def mutate(self, name: str, input: dict[str, Any], selection: str) -> dict[str, Any]:
        """Call mutation `name` with `input`; its payload (`selection` and `errors`)."""
        input_type = name[0].upper() + name[1:] + "Input"
        operation = f"mutation M($input: {input_type}!) {{ {name}(input: $input) {{ {selection} {ERRORS} }} }}"
        payload: dict[str, Any] = self.query(operation, {"input": input})[name]
        return payload

    # -- WebSocket: graphql-transport-ws via gql ------------------------------

    def _init_payload(self) -> dict[str, Any]:
        # The credential goes in `connection_init`, as browsers cannot set headers.
        return {"authorization": f"Bearer {self.token}"} if self.token else {}

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
        completes (or `limit` results arrived)."""
        payload = init_payload if init_payload is not None else self._init_payload()
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

    def stream(self, query: str, variables: dict[str, Any] | None = None) -> GqlStream:
        """Follow one subscription in a background task (started); see `GqlStream`."""
        return GqlStream(self.ws_url, self.token, query, variables or {}).start()


@dataclass
class GqlStream:
    """One subscription over graphql-transport-ws through gql, in a background task: its
    items (the subscription field's values) go to `collector`, with how the stream ended."""

    url: str
    secret: str | None
    query: str
    variables: dict[str, Any]
    collector: Collector = field(default_factory=Collector)
    task: asyncio.Task[None] | None = None

    def start(self) -> GqlStream:
        self.task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        payload = {"authorization": f"Bearer {self.secret}"} if self.secret else {}
        transport = WebsocketsTransport(url=self.url, init_payload=payload, subprotocols=[TRANSPORT_WS])
        field_name: str | None = None
        try:
            async with Client(transport=transport, fetch_schema_from_transport=False) as session:
                request = gql(self.query)
                request.variable_values = self.variables
                async for result in session.subscribe(request):
                    field_name = field_name or next(iter(result))
                    self.collector.add(result[field_name])
            self.collector.complete()
        except TransportQueryError as error:
            self.collector.fail([dict(e) for e in (error.errors or [{"message": str(error)}])])
        except Exception as error:  # reported to the test through the collector
            self.collector.finish((None, f"{type(error).__name__}: {error}"))

    async def stop(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with suppress(asyncio.CancelledError):
                await self.task
