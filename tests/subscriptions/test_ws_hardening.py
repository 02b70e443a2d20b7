"""WebSocket hardening against a real server with real clients (docs/limits.md): the
legacy protocol's connection-init timeout, the origin check on the configured origins and
the public URL only, no credential in URLs or in the access log, the message size limit,
and the operation limits (cost at subscribe time, payload size) on both protocols."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.databases import DatabaseTemplates
from tests.subscriptions.conftest import SharedServer, shared_server
from tests.subscriptions.support import gid
from tests.support.graphql import LEGACY_WS, TRANSPORT_WS
from tests.support.polling import poll
from tests.support.websocket import RawSocket

PUBLIC_URL = "https://berth.example.test"
DASHBOARD = "https://dashboard.example.test"
INIT_TIMEOUT = 1.0
MAX_RESPONSE = 5000
BOTH = pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])

# Aliased artifacts of the service's deployments, under one subscription field.
HEAVY_SUBSCRIPTION = "subscription ($id: ID!) { deploymentEvents(deploymentId: $id) { deployment { " + " ".join(
    f"s{i}: service {{ deployments(first: 100) {{ nodes {{ artifact }} }} }}" for i in range(25)
) + " } } }"
LARGE_QUERY = "{ __schema { types { name description fields { name description } } } }"


@pytest.fixture(scope="module")
def hardened(database_templates: DatabaseTemplates, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedServer]:
    with shared_server(
        database_templates, tmp_path_factory.mktemp("hardening"),
        BERTH_PUBLIC_URL=PUBLIC_URL,
        BERTH_ALLOWED_ORIGINS=DASHBOARD,
        BERTH_WS_INIT_TIMEOUT_SECONDS=str(INIT_TIMEOUT),
        BERTH_MAX_RESPONSE_BYTES=str(MAX_RESPONSE),
    ) as server:
        yield server


async def test_the_legacy_protocol_closes_a_socket_without_connection_init(hardened: SharedServer) -> None:
    async with RawSocket(hardened.server.ws_url, LEGACY_WS) as socket:
        started = time.monotonic()
        assert await socket.closed(timeout=10) == 4408
        assert INIT_TIMEOUT * 0.9 <= time.monotonic() - started < INIT_TIMEOUT + 4
    async with RawSocket(hardened.server.ws_url, LEGACY_WS) as socket:  # in time: stays open
        assert (await socket.init(hardened.secret) or {}).get("type") == "connection_ack"
        await asyncio.sleep(INIT_TIMEOUT * 1.5)  # noqa: ASYNC251 - waiting past the timeout is the point
        # Still open: an operation is answered (here with its validation error).
        await socket.send({"id": "1", "type": "start", "payload": {"query": "subscription { noSuchField }"}})
        reply = await socket.recv_type("error", timeout=10)
        assert reply is not None and reply["id"] == "1", socket.received


async def refused(url: str, origin: str) -> int:
    with pytest.raises(InvalidStatus) as refusal:
        async with connect(url, subprotocols=[TRANSPORT_WS],  # type: ignore[list-item]
                           additional_headers={"Origin": origin}):
            pass
    return refusal.value.response.status_code


async def test_origins_other_than_the_configured_ones_and_the_public_url_are_refused(hardened: SharedServer) -> None:
    url = hardened.server.ws_url
    # Equal to the Host header (what DNS rebinding produces), but neither configured nor public.
    assert await refused(url, hardened.server.url) == 403
    assert await refused(url, "https://evil.example.test") == 403
    for origin in (DASHBOARD, PUBLIC_URL, PUBLIC_URL + ":443"):  # configured; GraphiQL on the public URL
        async with connect(url, subprotocols=[TRANSPORT_WS],  # type: ignore[list-item]
                           additional_headers={"Origin": origin}) as socket:
            await socket.send('{"type": "connection_init", "payload": {}}')
            assert "connection_ack" in str(await socket.recv())


async def test_a_token_in_the_url_is_refused_and_no_query_string_reaches_the_log(hardened: SharedServer) -> None:
    secret = hardened.secret
    server = hardened.server
    for query in (f"token={secret}", f"access_token={secret}", f"x={secret}"):
        with pytest.raises(InvalidStatus):
            async with connect(f"{server.ws_url}?{query}", subprotocols=[TRANSPORT_WS]):  # type: ignore[list-item]
                pass
        response = httpx.get(f"{server.url}/graphql?{query}&query=%7B__typename%7D", timeout=10)
        assert response.status_code == 400
        assert "Authorization" in response.json()["errors"][0]["message"]
    # A query string without a credential is served, and not logged either.
    assert httpx.get(f"{server.url}/graphql", params={"query": "{ __typename }", "marker": "q-marker"},
                     timeout=10).status_code == 200
    async with connect(f"{server.ws_url}?marker=ws-marker", subprotocols=[TRANSPORT_WS]):  # type: ignore[list-item]
        pass

    def logged() -> str:
        return server.log()

    # The log is written by another process.
    await poll(lambda: "GET /graphql HTTP" in logged(), 10, "the access log line")
    log = logged()
    assert "GET /graphql HTTP" in log
    assert secret not in log
    assert "q-marker" not in log and "ws-marker" not in log


@BOTH
async def test_a_message_over_the_body_limit_closes_the_socket_with_1009(hardened: SharedServer, protocol: str) -> None:
    async with RawSocket(hardened.server.ws_url, protocol, connect_args={"max_size": None}) as socket:
        await socket.send({"type": "connection_init", "payload": {"padding": "x" * (257 * 1024)}})
        assert await socket.closed(timeout=10) == 1009


@BOTH
async def test_a_subscription_over_the_cost_limit_is_refused_at_subscribe_time(
    hardened: SharedServer, protocol: str
) -> None:
    async with RawSocket(hardened.server.ws_url, protocol) as socket:
        await socket.init(hardened.secret)
        await socket.subscribe("1", HEAVY_SUBSCRIPTION, {"id": gid("Deployment", hardened.deployment_id)})
        reply = await socket.recv_type("error", "next", "data", timeout=10)
        assert reply is not None and reply["type"] == "error", socket.received
        errors = reply["payload"] if isinstance(reply["payload"], list) else [reply["payload"]]
        assert errors[0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
        assert errors[0]["extensions"]["limit"] == 100_000


async def test_a_result_over_the_size_cap_is_replaced_over_the_websocket(hardened: SharedServer) -> None:
    async with RawSocket(hardened.server.ws_url, TRANSPORT_WS) as socket:
        await socket.init(hardened.secret)
        await socket.subscribe("big", LARGE_QUERY)
        reply = await socket.recv_type("next", timeout=10)
        assert reply is not None and reply["id"] == "big"
        assert reply["payload"]["errors"][0]["extensions"]["code"] == "RESPONSE_TOO_LARGE"
        await socket.subscribe("small", "{ __typename }")  # the connection carries on
        reply = await socket.recv_type("next", timeout=10)
        assert reply is not None and reply["payload"] == {"data": {"__typename": "Query"}}
