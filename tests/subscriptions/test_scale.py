"""Fan-out across processes and subscribers (CONTRACT §5): several API processes on one
PostgreSQL, many subscribers on one deployment, and a subscriber that stops reading."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from contextlib import AsyncExitStack
from pathlib import Path

from berth.schema.ids import pk_of
from tests.conftest import Database
from tests.models.factories import make_service
from tests.subscriptions.conftest import database_env, postgres_only
from tests.subscriptions.support import (
    EVENTS,
    FEED,
    LOGS,
    gid,
    new_deployment,
    run_phases,
    scripted_phases,
    stored_events,
    stored_logs,
    token,
    until_live,
)
from tests.support.collector import Collector
from tests.support.graphql import TRANSPORT_WS, GqlStream, GraphQLClient
from tests.support.live_server import ROOT, LiveServer, running_server
from tests.support.websocket import RawSocket, stalled_connect_args

pytestmark = postgres_only

LIGHT_EVENTS = "subscription ($id: ID!) { deploymentEvents(deploymentId: $id) { seq type } }"
LIGHT_LOGS = "subscription ($id: ID!) { deploymentLogs(deploymentId: $id) { seq text } }"


def pairs(collector: Collector, key: str) -> list[tuple[int, str]]:
    return [(item["seq"], item[key]) for item in collector.items]


async def test_a_subscriber_on_another_api_process_sees_every_event(
    db: Database, database: Database, tmp_path: Path
) -> None:
    """Three OS processes besides the test: two API processes and one that runs the
    deployment (writing as a runner does). The deployment is started through the first
    API process and followed on the second."""
    env = database_env(database)
    with (
        running_server(tmp_path / "api-1.log", env, args=["--no-runner"]) as first,
        running_server(tmp_path / "api-2.log", env, args=["--no-runner"]) as second,
    ):
        service = await make_service()
        secret = await token()
        feed = GqlStream(second.ws_url, secret, FEED, {"project": gid("Project", service.project_id)}).start()  # type: ignore[attr-defined]
        primed = await until_live(feed, service)
        with GraphQLClient(first.url, secret) as client:
            started = client.mutate("startDeployment", {"serviceId": gid("Service", service.id)}, "deployment { id }")
        assert started["errors"] == [], started
        deployment_id = started["deployment"]["id"]
        # The CREATED event was committed by the first process: the second hears of it.
        await feed.collector.wait(
            lambda c: any(i["deployment"]["id"] == deployment_id for i in c.items) or c.done,
            what="CREATED from the first API process",
        )
        variables = {"id": deployment_id}
        events = GqlStream(second.ws_url, secret, EVENTS, variables).start()
        logs = GqlStream(second.ws_url, secret, LOGS, variables).start()
        events_on_first = GqlStream(first.ws_url, secret, EVENTS, variables).start()
        await events.collector.wait_count(1)
        pk = pk_of(deployment_id, "Deployment")
        assert pk is not None
        runner = subprocess.Popen(
            [sys.executable, "-m", "tests.subscriptions.drive_worker", database.url, str(pk), "200"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        try:
            for stream in (events, logs, events_on_first):
                await stream.collector.wait_done(timeout=60)
            assert runner.wait(timeout=30) == 0, runner.stdout.read() if runner.stdout else ""
        finally:
            if runner.poll() is None:
                runner.kill()
        stored = await stored_events(pk)
        for stream in (events, events_on_first):
            assert stream.collector.completed and pairs(stream.collector, "type") == stored
        assert logs.collector.completed and pairs(logs.collector, "text") == await stored_logs(pk)
        assert len(logs.collector.items) == 600
        await feed.collector.wait(
            lambda c: len([i for i in c.items if i["deployment"]["id"] == deployment_id]) == len(stored) or c.done,
            what="the whole deployment on the feed",
        )
        on_feed = [i["seq"] for i in feed.collector.items if i["deployment"]["id"] == deployment_id]
        assert on_feed == [seq for seq, _ in stored]
        assert {i["deployment"]["id"] for i in feed.collector.items} <= {
            gid("Deployment", pk), *(gid("Deployment", p) for p in primed)
        }
        await feed.stop()


async def test_200_concurrent_subscribers_each_receive_every_event(db: Database, api: LiveServer) -> None:
    deployment = await new_deployment()
    secret = await token()
    variables = {"id": gid("Deployment", deployment.id)}
    sockets = [RawSocket(api.ws_url, TRANSPORT_WS) for _ in range(200)]
    collectors = [Collector() for _ in sockets]
    async with AsyncExitStack() as stack:
        for client in sockets:
            await stack.enter_async_context(client)
        acks = await asyncio.gather(*(client.init(secret) for client in sockets))
        assert all(ack is not None and ack["type"] == "connection_ack" for ack in acks)
        for client in sockets:
            await client.subscribe("events", LIGHT_EVENTS, variables)
        readers = [
            asyncio.create_task(client.collect("events", collector, timeout=90))
            for client, collector in zip(sockets, collectors, strict=True)
        ]
        await asyncio.gather(*(collector.wait_count(1) for collector in collectors))
        await run_phases(scripted_phases(deployment.id, lines_per_step=30, batch=10))
        await asyncio.gather(*readers)
    stored = await stored_events(deployment.id)
    for collector in collectors:
        assert collector.completed, (collector.errors, collector.closed)
        assert pairs(collector, "type") == stored


async def test_a_subscriber_reading_nothing_for_10_seconds_delays_nobody_and_catches_up(
    db: Database, api: LiveServer
) -> None:
    deployment = await new_deployment()
    secret = await token()
    variables = {"id": gid("Deployment", deployment.id)}
    phases = scripted_phases(deployment.id, lines_per_step=4000, batch=500, text="x" * 160)
    async with (
        RawSocket(api.ws_url, TRANSPORT_WS, connect_args=stalled_connect_args(api)) as slow,
        RawSocket(api.ws_url, TRANSPORT_WS) as fast,
    ):
        for client in (slow, fast):
            await client.init(secret)
            await client.subscribe("logs", LIGHT_LOGS, variables)
            await client.subscribe("events", LIGHT_EVENTS, variables)
        paused_at = time.monotonic()
        fast_streams = {"logs": Collector(), "events": Collector()}
        fast_reader = asyncio.create_task(fast.collect_all(fast_streams, timeout=90))
        await fast_streams["events"].wait_count(1)
        await run_phases(phases)
        await fast_reader
        # The deployment and the other subscriber were done while the slow one read nothing:
        # it kept reading nothing until then, and for 10 s in all (the scenario itself).
        others_done = time.monotonic() - paused_at
        await asyncio.sleep(max(0.0, 10 - others_done))
        slow_streams = {"logs": Collector(), "events": Collector()}
        await slow.collect_all(slow_streams, timeout=90)
    stored_lines = await stored_logs(deployment.id)
    stored = await stored_events(deployment.id)
    assert len(stored_lines) == 12_000
    for streams in (fast_streams, slow_streams):
        assert streams["logs"].completed and streams["events"].completed
        assert pairs(streams["logs"], "text") == stored_lines
        assert pairs(streams["events"], "type") == stored
    # It fell behind and caught up from the database rather than being buffered for.
    assert "fell" in api.log() and "catches up from the database" in api.log(), others_done
