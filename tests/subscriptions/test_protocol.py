"""The WebSocket protocols at /graphql against a real server (CONTRACT §5, §2): close codes,
the legacy protocol's errors, the 100-operation limit, keep-alives and the origin check.
None of it depends on the database dialect: these run on SQLite."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from berth.graphql_app import MAX_OPERATIONS_PER_CONNECTION
from berth.settings import reset_settings
from tests.conftest import Database
from tests.databases import DatabaseTemplates
from tests.subscriptions.conftest import SharedServer, database_env, shared_server, sqlite_only
from tests.subscriptions.support import EVENTS, FEED, gid
from tests.support.collector import Collector
from tests.support.graphql import LEGACY_WS, TRANSPORT_WS
from tests.support.live_server import free_port, running_server
from tests.support.websocket import RawSocket


@pytest.fixture(scope="module")
def shared(database_templates: DatabaseTemplates, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedServer]:
    """One `berth serve` for the protocol tests that need nothing of their own."""
    with shared_server(database_templates, tmp_path_factory.mktemp("protocol")) as server:
        yield server


async def test_4400_for_a_message_that_is_not_of_the_protocol(shared: SharedServer) -> None:
    secret = shared.secret
    async with RawSocket(shared.ws_url, TRANSPORT_WS) as socket:
        assert (await socket.init(secret) or {}).get("type") == "connection_ack"
        await socket.send({"type": "no-such-message"})
        assert await socket.closed() == 4400
    async with RawSocket(shared.ws_url, TRANSPORT_WS) as socket:
        await socket.send("this is not JSON")
        assert await socket.closed() == 4400
    async with RawSocket(shared.ws_url, TRANSPORT_WS) as socket:
        await socket.send({"type": "connection_init", "payload": "not an object"})
        assert await socket.closed() == 4400


async def test_4401_for_a_subscription_before_the_connection_is_acknowledged(shared: SharedServer) -> None:
    async with RawSocket(shared.ws_url, TRANSPORT_WS) as socket:
        await socket.subscribe("1", FEED)
        assert await socket.closed() == 4401


async def test_4403_for_a_bad_credential_and_connection_error_on_the_legacy_protocol(
    shared: SharedServer
) -> None:
    bad = "berth_pat_" + "x" * 43
    async with RawSocket(shared.ws_url, TRANSPORT_WS) as socket:
        await socket.send({"type": "connection_init", "payload": {"authorization": f"Bearer {bad}"}})
        assert await socket.closed() == 4403
        assert all(m["type"] != "connection_ack" for m in socket.received)
    async with RawSocket(shared.ws_url, LEGACY_WS) as socket:
        reply = await socket.init(bad)
        assert reply is not None and reply["type"] == "connection_error", socket.received
        await socket.closed()
        assert all(m["type"] != "connection_ack" for m in socket.received)


async def test_4408_when_connection_init_does_not_come_within_10_seconds(shared: SharedServer) -> None:
    async with RawSocket(shared.ws_url, TRANSPORT_WS) as socket:
        started = time.monotonic()
        assert await socket.closed(timeout=20) == 4408
        assert 9.5 <= time.monotonic() - started < 15


async def test_4409_for_a_second_subscription_with_an_id_in_use(shared: SharedServer) -> None:
    secret = shared.secret
    async with RawSocket(shared.ws_url, TRANSPORT_WS) as socket:
        await socket.init(secret)
        await socket.subscribe("same", FEED)  # never completes: the id stays in use
        await socket.subscribe("same", FEED)
        assert await socket.closed() == 4409


async def test_4429_for_a_second_connection_init(shared: SharedServer) -> None:
    secret = shared.secret
    async with RawSocket(shared.ws_url, TRANSPORT_WS) as socket:
        await socket.init(secret)
        await socket.send({"type": "connection_init", "payload": {"authorization": f"Bearer {secret}"}})
        assert await socket.closed() == 4429


@pytest.mark.parametrize("subprotocol", [TRANSPORT_WS, LEGACY_WS])
async def test_at_most_100_operations_in_flight_per_connection(
    subprotocol: str, shared: SharedServer
) -> None:
    secret = shared.secret
    async with RawSocket(shared.ws_url, subprotocol) as socket:
        await socket.init(secret)
        for index in range(MAX_OPERATIONS_PER_CONNECTION):
            await socket.subscribe(f"feed-{index}", FEED)
        await socket.subscribe("one-too-many", FEED)
        refused = await socket.recv_type("error")
        assert refused is not None and refused["id"] == "one-too-many", socket.received[-3:]
        payload = refused["payload"]
        message = (payload[0] if isinstance(payload, list) else payload)["message"]
        assert "limit" in message.lower()
        # The connection stays usable; once one operation ends, another may start.
        stop = "complete" if subprotocol == TRANSPORT_WS else "stop"
        await socket.send({"id": "feed-0", "type": stop})
        if subprotocol == LEGACY_WS:
            # The legacy server confirms a stop with `complete`; wait for it to be released.
            done = await socket.recv_type("complete")
            assert done is not None and done["id"] == "feed-0"
        await socket.subscribe("events", EVENTS, {"id": gid("Deployment", shared.deployment_id)})
        result = await socket.collect("events", Collector())
        assert result.completed and not result.errors, socket.received[-3:]
        assert [item["seq"] for item in result.items] == list(range(1, len(result.items) + 1))
    assert socket.close_code in (None, 1000)


async def test_keep_alives_on_both_protocols(shared: SharedServer) -> None:
    secret = shared.secret
    async with RawSocket(shared.ws_url, LEGACY_WS) as socket:
        await socket.init(secret)
        assert await socket.recv_type("ka", timeout=5) is not None
    async with RawSocket(shared.ws_url, TRANSPORT_WS) as socket:
        await socket.init(secret)
        await socket.send({"type": "ping"})
        assert await socket.recv_type("pong", timeout=5) is not None


@contextlib.asynccontextmanager
async def in_process_server(database: Database, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """A real uvicorn on loopback in this process (so the keep-alive interval can be short)."""
    for name, value in database_env(database).items():
        monkeypatch.setenv(name, value)
    from berth.app import create_app
    from berth.settings import get_settings

    reset_settings()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(get_settings()), host="127.0.0.1", port=port, ws="websockets-sansio",
                       log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(30):
            while not server.started:
                assert not task.done(), task
                await asyncio.sleep(0.05)
        yield f"ws://127.0.0.1:{port}/graphql"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


@sqlite_only
async def test_graphql_transport_ws_server_pings_every_interval(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import berth.graphql_app

    monkeypatch.setattr(berth.graphql_app, "KEEP_ALIVE_SECONDS", 0.3)
    async with in_process_server(database, monkeypatch) as url:
        async with RawSocket(url, TRANSPORT_WS) as socket:
            reply = await socket.init(None)
            assert reply is not None and reply["type"] == "connection_ack"
            for _ in range(2):
                assert await socket.recv_type("ping", timeout=5) is not None
                await socket.send({"type": "pong"})


@sqlite_only
async def test_browser_handshakes_from_origins_not_configured_are_refused(
    database: Database, tmp_path: Path
) -> None:
    env = {**database_env(database), "BERTH_ALLOWED_ORIGINS": "https://dashboard.example.test"}
    with running_server(tmp_path / "api.log", env) as server:
        for origin in ("https://evil.example.test", "http://localhost:3000"):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(server.ws_url, subprotocols=[TRANSPORT_WS],  # type: ignore[list-item]
                                   additional_headers={"Origin": origin}):
                    pass
            assert refused.value.response.status_code == 403
        for origin in ("https://dashboard.example.test", server.url):  # configured; same origin
            async with connect(server.ws_url, subprotocols=[TRANSPORT_WS],  # type: ignore[list-item]
                               additional_headers={"Origin": origin}) as socket:
                await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
                assert json.loads(await socket.recv())["type"] == "connection_ack"
