"""Streams of deployments run by the real runner on real Docker (CONTRACT §5, §3): a client
subscribing mid-deployment gets every event and log line exactly once, in order, then
completion, for each source type and for a container printing 10,000 lines; and the same
across processes: `berth serve --no-runner` ×2 and `berth runner` on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from berth.schema.ids import pk_of
from tests.conftest import Database
from tests.docker_fixtures import BusyboxImage, GitRepo, compose_yaml
from tests.subscriptions.conftest import database_env, postgres_only, sqlite_only
from tests.subscriptions.support import EVENTS, LOGS, stored_events, stored_logs, token
from tests.support.collector import Collector
from tests.support.graphql import TRANSPORT_WS, GqlStream, GraphQLClient
from tests.support.live_server import ROOT, LiveServer, running_server
from tests.support.names import unique
from tests.support.websocket import RawSocket, stalled_connect_args

DEADLINE = 120.0
LOUD_LINES = 10_000


def create_service(server: LiveServer, secret: str, source: dict[str, Any]) -> str:
    with GraphQLClient(server.url, secret, timeout=30) as client:
        servers = client.query("{ servers { id name } }")["servers"]
        local = next(s["id"] for s in servers if s["name"] == "local")
        project = client.mutate("createProject", {"name": unique("p")}, "project { id }")
        assert project["errors"] == [], project
        service = client.mutate(
            "createService",
            {"projectId": project["project"]["id"], "environment": "production",
             "name": unique("s"), "serverId": local, "source": source},
            "service { id }",
        )
    assert service["errors"] == [], service
    return str(service["service"]["id"])


def start_deployment(server: LiveServer, secret: str, service_id: str) -> str:
    with GraphQLClient(server.url, secret, timeout=30) as client:
        started = client.mutate("startDeployment", {"serviceId": service_id}, "deployment { id }")
    assert started["errors"] == [], started
    return str(started["deployment"]["id"])


def loud_command(lines: int) -> list[str]:
    """Print `lines` numbered lines, then serve the app page (its HEALTHCHECK passes)."""
    script = (
        f"i=0; while [ $i -lt {lines} ]; do echo \"loud line $i\"; i=$((i+1)); done; "
        "exec httpd -f -p 8080 -h /www"
    )
    return ["sh", "-c", script]


async def follow_mid_deployment(
    watch_on: LiveServer, subscribe_on: LiveServer, secret: str, deployment_id: str, timeout: float = DEADLINE
) -> tuple[Collector, Collector]:
    """Watch the deployment until it has started running, then subscribe to its events and
    logs (mid-deployment) and read both to their completion."""
    variables = {"id": deployment_id}
    watcher = GqlStream(watch_on.ws_url, secret, EVENTS, variables).start()
    await watcher.collector.wait(
        lambda c: any(i["status"] != "QUEUED" for i in c.items) or c.done, timeout, "the deployment to start"
    )
    events = GqlStream(subscribe_on.ws_url, secret, EVENTS, variables).start()
    logs = GqlStream(subscribe_on.ws_url, secret, LOGS, variables).start()
    for stream in (watcher, events, logs):
        await stream.collector.wait_done(timeout)
    assert watcher.collector.completed, (watcher.collector.errors, watcher.collector.closed)
    return events.collector, logs.collector


async def assert_complete_and_exact(deployment_id: str, events: Collector, logs: Collector) -> list[tuple[int, str]]:
    pk = pk_of(deployment_id, "Deployment")
    assert pk is not None
    assert events.completed, (events.errors, events.closed)
    assert logs.completed, (logs.errors, logs.closed)
    stored = await stored_events(pk)
    assert [(i["seq"], i["type"]) for i in events.items] == stored
    lines = await stored_logs(pk)
    assert [(i["seq"], i["text"]) for i in logs.items] == lines
    assert [seq for seq, _ in lines] == list(range(1, len(lines) + 1))
    return lines


@pytest.fixture
def sqlite_server(database: Database, tmp_path: Path) -> Any:
    """`berth serve` with its embedded runner, file repositories allowed."""
    env = database_env(database, BERTH_ALLOW_FILE_REPOS="1")
    with running_server(tmp_path / "serve.log", env) as server:
        yield server


@sqlite_only
@pytest.mark.parametrize("source_type", ["IMAGE", "DOCKERFILE", "COMPOSE"])
async def test_mid_deployment_subscription_for_each_source_type(
    source_type: str, db: Database, sqlite_server: LiveServer, busybox_image: BusyboxImage, git_repo: GitRepo,
) -> None:
    secret = await token()
    sources: dict[str, dict[str, Any]] = {
        "IMAGE": {"type": "IMAGE", "image": busybox_image.ref("v1"), "command": loud_command(200)},
        "DOCKERFILE": {"type": "DOCKERFILE", "repository": git_repo.url, "branch": "main"},
        "COMPOSE": {"type": "COMPOSE", "composeContent": compose_yaml(busybox_image.ref("v1"))},
    }
    service_id = create_service(sqlite_server, secret, sources[source_type])
    deployment_id = start_deployment(sqlite_server, secret, service_id)
    events, logs = await follow_mid_deployment(sqlite_server, sqlite_server, secret, deployment_id)
    lines = await assert_complete_and_exact(deployment_id, events, logs)
    assert events.items[-1]["conclusion"] == "SUCCEEDED", (events.items[-1], sqlite_server.log()[-3000:])
    assert lines  # every step prints something


@sqlite_only
async def test_a_container_printing_10000_lines_streams_every_line_once(
    db: Database, sqlite_server: LiveServer, busybox_image: BusyboxImage
) -> None:
    secret = await token()
    service_id = create_service(
        sqlite_server, secret,
        {"type": "IMAGE", "image": busybox_image.ref("v1"), "command": loud_command(LOUD_LINES)},
    )
    deployment_id = start_deployment(sqlite_server, secret, service_id)
    # Beside the followers, a subscriber that reads nothing for 10 s, on the process that
    # also runs the deployment: neither the runner nor the others wait for it.
    async with RawSocket(sqlite_server.ws_url, TRANSPORT_WS, connect_args=stalled_connect_args(sqlite_server)) as slow:
        await slow.init(secret)
        await slow.subscribe("logs", LOGS, {"id": deployment_id})
        paused_at = time.monotonic()
        events, logs = await follow_mid_deployment(sqlite_server, sqlite_server, secret, deployment_id)
        await asyncio.sleep(max(0.0, 10 - (time.monotonic() - paused_at)))
        slow_logs = Collector()
        await slow.collect_all({"logs": slow_logs}, timeout=DEADLINE)
    lines = await assert_complete_and_exact(deployment_id, events, logs)
    assert events.items[-1]["conclusion"] == "SUCCEEDED", (events.items[-1], sqlite_server.log()[-3000:])
    loud = [text for _, text in lines if text.startswith("loud line ")]
    assert loud == [f"loud line {i}" for i in range(LOUD_LINES)]
    assert slow_logs.completed and [(i["seq"], i["text"]) for i in slow_logs.items] == lines


@postgres_only
async def test_three_processes_a_subscriber_on_the_second_api_sees_a_deployment_started_on_the_first(
    db: Database, database: Database, tmp_path: Path, busybox_image: BusyboxImage
) -> None:
    env = database_env(database)
    with (
        running_server(tmp_path / "api-1.log", env, args=["--no-runner"]) as first,
        running_server(tmp_path / "api-2.log", env, args=["--no-runner"]) as second,
    ):
        runner_log = (tmp_path / "runner.log").open("ab")
        runner = subprocess.Popen(
            [sys.executable, "-m", "berth", "runner"], env={**os.environ, **env}, cwd=ROOT,
            stdout=runner_log, stderr=subprocess.STDOUT,
        )
        try:
            secret = await token()
            service_id = create_service(
                first, secret, {"type": "IMAGE", "image": busybox_image.ref("v1"), "command": loud_command(500)}
            )
            deployment_id = start_deployment(first, secret, service_id)
            events, logs = await follow_mid_deployment(first, second, secret, deployment_id)
            await assert_complete_and_exact(deployment_id, events, logs)
            assert events.items[-1]["conclusion"] == "SUCCEEDED", (tmp_path / "runner.log").read_text()[-3000:]
        finally:
            runner.terminate()
            try:
                runner.wait(timeout=30)
            except subprocess.TimeoutExpired:
                runner.kill()
