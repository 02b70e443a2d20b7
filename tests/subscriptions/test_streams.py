"""deploymentEvents / deploymentLogs against a real server: replay then live, every item
exactly once and in seq order, then completion (CONTRACT §5)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg

from berth.events.pg_listener import APPLICATION_NAME
from berth.models import Deployment
from berth.models.enums import DeploymentStatus
from berth.models.lifecycle import now
from tests.conftest import Database
from tests.models.factories import make_deployment, make_service
from tests.subscriptions.conftest import postgres_only, sqlite_only
from tests.subscriptions.support import (
    EVENTS,
    LOGS,
    gid,
    new_deployment,
    run_phases,
    scripted_phases,
    stored_events,
    stored_logs,
    token,
)
from tests.support.collector import Collector, seqs
from tests.support.graphql import LEGACY_WS, GqlStream, GraphQLClient
from tests.support.live_server import LiveServer
from tests.support.websocket import RawSocket


def assert_events_match(collector: Collector, stored: list[tuple[int, str]], after: int = 0) -> None:
    assert collector.completed, (collector.errors, collector.closed)
    expected = [(seq, kind) for seq, kind in stored if seq > after]
    assert [(item["seq"], item["type"]) for item in collector.items] == expected
    assert collector.items[-1]["type"] == "CONCLUDED"


def assert_logs_match(collector: Collector, stored: list[tuple[int, str]], after: int = 0) -> None:
    assert collector.completed, (collector.errors, collector.closed)
    assert [(item["seq"], item["text"]) for item in collector.items] == [
        (seq, text) for seq, text in stored if seq > after
    ]


@postgres_only
async def test_mid_deployment_subscribers_get_every_item_once_in_order_then_completion(
    db: Database, api: LiveServer
) -> None:
    """Subscribed while the deployment runs (written by another process): the replay and
    the live part join without a gap or a duplicate, and both streams complete."""
    deployment = await new_deployment()
    secret = await token()
    phases = scripted_phases(deployment.id, lines_per_step=300, batch=40)
    await run_phases(phases[:2])  # PREPARE, PULL running, 300 lines stored
    variables = {"id": gid("Deployment", deployment.id)}
    events = GqlStream(api.ws_url, secret, EVENTS, variables).start()
    logs = GqlStream(api.ws_url, secret, LOGS, variables).start()
    await events.collector.wait_count(1)
    await logs.collector.wait_count(1)
    # The rest is written while both are somewhere in their replay or already live.
    await run_phases(phases[2:])
    await events.collector.wait_done()
    await logs.collector.wait_done()
    assert_events_match(events.collector, await stored_events(deployment.id))
    assert_logs_match(logs.collector, await stored_logs(deployment.id))
    assert len(logs.collector.items) == 900
    final = events.collector.items[-1]
    assert final["status"] == "COMPLETED" and final["conclusion"] == "SUCCEEDED"
    assert final["deployment"]["status"] == "COMPLETED"


@postgres_only
async def test_reconnecting_with_after_seq_resumes_without_gap_or_duplicate(
    db: Database, api: LiveServer
) -> None:
    deployment = await new_deployment()
    secret = await token()
    phases = scripted_phases(deployment.id, lines_per_step=50, batch=7)
    variables = {"id": gid("Deployment", deployment.id)}
    first_events = GqlStream(api.ws_url, secret, EVENTS, variables).start()
    first_logs = GqlStream(api.ws_url, secret, LOGS, variables).start()
    await run_phases(phases[:3])
    await first_events.collector.wait_count(4)
    await first_logs.collector.wait_count(20)
    # The client drops its connections; the deployment goes on meanwhile.
    await first_events.stop()
    await first_logs.stop()
    last_event = first_events.collector.items[-1]["seq"]
    last_line = first_logs.collector.items[-1]["seq"]
    await run_phases(phases[3:6])
    events = GqlStream(api.ws_url, secret, EVENTS, {**variables, "after": last_event}).start()
    logs = GqlStream(api.ws_url, secret, LOGS, {**variables, "after": last_line}).start()
    await run_phases(phases[6:])
    await events.collector.wait_done()
    await logs.collector.wait_done()
    assert_events_match(events.collector, await stored_events(deployment.id), after=last_event)
    assert_logs_match(logs.collector, await stored_logs(deployment.id), after=last_line)
    # Both halves together: everything once.
    all_events = seqs(first_events.collector)[: seqs(first_events.collector).index(last_event) + 1]
    assert all_events + seqs(events.collector) == [s for s, _ in await stored_events(deployment.id)]


@postgres_only
async def test_legacy_graphql_ws_streams_replay_then_live(db: Database, api: LiveServer) -> None:
    deployment = await new_deployment()
    secret = await token()
    phases = scripted_phases(deployment.id, lines_per_step=30, batch=10)
    await run_phases(phases[:4])
    variables = {"id": gid("Deployment", deployment.id)}
    async with RawSocket(api.ws_url, LEGACY_WS) as socket:
        ack = await socket.init(secret)
        assert ack is not None and ack["type"] == "connection_ack", socket.received
        await socket.subscribe("events", EVENTS, variables)
        await socket.subscribe("logs", LOGS, variables)
        events, logs = Collector(), Collector()
        writer = asyncio.create_task(run_phases(phases[4:]))
        # One reader for both operations of the connection.
        async with asyncio.timeout(30):
            while not (events.completed and logs.completed):
                message = await socket.recv()
                assert message is not None, (socket.close_code, socket.received[-3:])
                target = {"events": events, "logs": logs}.get(message.get("id", ""))
                if target is None:
                    continue
                if message["type"] == "data":
                    assert not message["payload"].get("errors"), message
                    target.add(next(iter(message["payload"]["data"].values())))
                elif message["type"] == "complete":
                    target.complete()
                else:
                    raise AssertionError(message)
        await writer
    assert_events_match(events, await stored_events(deployment.id))
    assert_logs_match(logs, await stored_logs(deployment.id))


async def test_a_concluded_deployment_replays_from_after_seq_and_completes(db: Database, api: LiveServer) -> None:
    deployment = await new_deployment()
    secret = await token()
    await run_phases(scripted_phases(deployment.id, lines_per_step=5))
    stored = await stored_events(deployment.id)
    variables = {"id": gid("Deployment", deployment.id)}
    streams = [
        GqlStream(api.ws_url, secret, EVENTS, variables).start(),
        GqlStream(api.ws_url, secret, EVENTS, {**variables, "after": 10}).start(),
        GqlStream(api.ws_url, secret, EVENTS, {**variables, "after": len(stored)}).start(),
        GqlStream(api.ws_url, secret, LOGS, {**variables, "after": 15}).start(),
        GqlStream(api.ws_url, secret, LOGS, {**variables, "after": 1000}).start(),
    ]
    for stream in streams:
        await stream.collector.wait_done()
    assert_events_match(streams[0].collector, stored)
    assert_events_match(streams[1].collector, stored, after=10)
    assert streams[2].collector.completed and streams[2].collector.items == []
    assert_logs_match(streams[3].collector, await stored_logs(deployment.id), after=15)
    assert streams[4].collector.completed and streams[4].collector.items == []


async def _block_runner(server_id: int) -> None:
    """Make the server look busy to the embedded runner: a deployment claimed by another
    runner with a lease far in the future, so the test's deployment stays QUEUED."""
    blocker = await make_deployment(await make_service(server=await _server(server_id)))
    await Deployment.filter(id=blocker.id).update(
        status=DeploymentStatus.PREPARE, started_at=now(), claimed_by="subscriptions-test-blocker",
        lease_expires_at=now() + timedelta(days=1), attempt=1,
    )


async def _server(server_id: int):  # type: ignore[no-untyped-def]
    from berth.models import Server

    return await Server.get(id=server_id)


@sqlite_only
async def test_changes_made_by_the_api_process_reach_its_subscribers_on_sqlite(
    db: Database, api: LiveServer
) -> None:
    """One process on SQLite: its own commits wake its subscribers (no LISTEN there)."""
    service = await make_service()
    await _block_runner(service.server_id)  # type: ignore[attr-defined]
    deployment = await make_deployment(service)
    secret = await token()
    variables = {"id": gid("Deployment", deployment.id)}
    events = GqlStream(api.ws_url, secret, EVENTS, variables).start()
    logs = GqlStream(api.ws_url, secret, LOGS, variables).start()
    await events.collector.wait_count(1)  # CREATED: replayed, now live
    with GraphQLClient(api.url, secret) as client:
        canceled = client.mutate("cancelDeployment", {"deploymentId": variables["id"]}, "")
    assert canceled["errors"] == [], canceled
    await events.collector.wait_done()
    await logs.collector.wait_done()
    assert_events_match(events.collector, await stored_events(deployment.id))
    assert events.collector.items[-1]["conclusion"] == "CANCELED"
    assert logs.collector.completed and logs.collector.items == []


@postgres_only
async def test_a_dropped_listen_connection_reconnects_and_subscribers_catch_up(
    db: Database, database: Database, api: LiveServer
) -> None:
    deployment = await new_deployment()
    secret = await token()
    phases = scripted_phases(deployment.id, lines_per_step=40, batch=10)
    variables = {"id": gid("Deployment", deployment.id)}
    events = GqlStream(api.ws_url, secret, EVENTS, variables).start()
    logs = GqlStream(api.ws_url, secret, LOGS, variables).start()
    await run_phases(phases[:2])
    await logs.collector.wait_count(40)
    admin = await asyncpg.connect("postgresql://" + database.url.split("://", 1)[1])
    try:
        name = database.url.rsplit("/", 1)[1]
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = $1 AND datname = $2",
            APPLICATION_NAME, name,
        )
        assert killed == 1  # the API process's one LISTEN connection
        # Written while the API process may not be listening: the reconnection's
        # catch-up (or the NOTIFYs after it) must bring every item.
        await run_phases(phases[2:])
        await events.collector.wait_done()
        await logs.collector.wait_done()
        assert_events_match(events.collector, await stored_events(deployment.id))
        assert_logs_match(logs.collector, await stored_logs(deployment.id))
        listening = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = $2",
            APPLICATION_NAME, name,
        )
        assert listening == 1
    finally:
        await admin.close()
    assert "LISTEN connection re-established" in api.log()
