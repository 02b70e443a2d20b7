"""Subscriptions executed once per audience (`berth.graphql_audiences`): subscribers of one
process with the same document, variables and effective authorisation share one execution,
while what is per subscriber stays per subscriber. Executions are counted by the process
(`berth_subscription_executions`), read from its `/metrics`."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from prometheus_client.parser import text_string_to_metric_families

from berth.auth.api_tokens import revoke_api_token
from berth.graphql_app import MAX_OPERATIONS_PER_CONNECTION
from berth.models.enums import LogStream, Role, StepKind
from berth.models.lifecycle import LogEntry, append_logs
from tests.conftest import Database
from tests.models.factories import make_deployment, make_service
from tests.subscriptions.conftest import postgres_only
from tests.subscriptions.support import (
    gid,
    new_deployment,
    run_phases,
    scripted_phases,
    stored_events,
    stored_logs,
    token,
    token_with_id,
)
from tests.support.collector import Collector
from tests.support.graphql import LEGACY_WS, TRANSPORT_WS
from tests.support.live_server import LiveServer
from tests.support.polling import poll
from tests.support.websocket import RawSocket, stalled_connect_args

pytestmark = postgres_only

EVENTS = "subscription ($id: ID!) { deploymentEvents(deploymentId: $id) { seq type } }"
LOGS = "subscription ($id: ID!) { deploymentLogs(deploymentId: $id) { seq text } }"
TIMEOUT = 60.0


def scrape(server: LiveServer) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = httpx.get(server.url + "/metrics", timeout=30).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def executions(server: LiveServer, serves: str = "audience") -> float:
    return scrape(server).get(("berth_subscription_executions_total", frozenset({("serves", serves)})), 0.0)


def open_subscriptions(server: LiveServer, stream: str = "events") -> float:
    return scrape(server).get(("berth_open_subscriptions", frozenset({("stream", stream)})), 0.0)


async def until_gauge(server: LiveServer, expected: float, stream: str = "events") -> None:
    await poll(lambda: open_subscriptions(server, stream) == expected, 20, f"{expected} open {stream} subscriptions")


class Subscriber:
    """One socket with one subscription, read into a collector in the background."""

    def __init__(self, socket: RawSocket, op_id: str) -> None:
        self.socket = socket
        self.op_id = op_id
        self.collector = Collector()
        self.reader: asyncio.Task[Collector] | None = None

    async def start(self, secret: str, query: str, variables: dict[str, object]) -> Subscriber:
        ack = await self.socket.init(secret)
        assert ack is not None and ack["type"] == "connection_ack", ack
        await self.socket.subscribe(self.op_id, query, variables)
        self.reader = asyncio.create_task(self.socket.collect(self.op_id, self.collector, timeout=TIMEOUT))
        return self

    async def finished(self) -> Collector:
        assert self.reader is not None
        return await self.reader


@asynccontextmanager
async def subscribers(
    server: LiveServer, specs: list[tuple[str, str, dict[str, object]]], protocol: str = TRANSPORT_WS
) -> AsyncIterator[list[Subscriber]]:
    """One socket per (secret, query, variables), each subscribed with an id of its own."""
    async with AsyncExitStack() as stack:
        started = []
        for index, (secret, query, variables) in enumerate(specs):
            socket = await stack.enter_async_context(RawSocket(server.ws_url, protocol))
            started.append(await Subscriber(socket, f"op-{index}").start(secret, query, variables))
        yield started


def seq_types(collector: Collector) -> list[tuple[int, str]]:
    return [(item["seq"], item["type"]) for item in collector.items]


async def test_subscribers_of_the_same_document_share_one_execution(db: Database, api: LiveServer) -> None:
    deployment = await new_deployment()
    secret, other_secret = await token(), await token()  # two tokens, the same effective scopes
    variables: dict[str, object] = {"id": gid("Deployment", deployment.id)}
    specs = [(secret if i % 2 else other_secret, EVENTS, variables) for i in range(20)]
    async with (
        subscribers(api, specs) as members,
        subscribers(api, [(secret, EVENTS, variables)], protocol=LEGACY_WS) as legacy,
    ):
        everyone = [*members, *legacy]
        await asyncio.gather(*(m.collector.wait_count(1) for m in everyone))
        await until_gauge(api, len(everyone))
        await run_phases(scripted_phases(deployment.id, lines_per_step=0))
        collectors = await asyncio.gather(*(m.finished() for m in everyone))
    assert executions(api) == 1
    stored = await stored_events(deployment.id)
    for member, collector in zip(everyone, collectors, strict=True):
        assert collector.completed and not collector.errors, (collector.errors, collector.closed)
        assert seq_types(collector) == stored
        # The same bytes but for the operation id, which is each subscriber's own.
        data = [m for m in member.socket.received if m.get("type") in ("next", "data")]
        assert {m["id"] for m in data} == {member.op_id}
    await until_gauge(api, 0)


async def test_different_variables_scopes_or_projects_do_not_share(db: Database, api: LiveServer) -> None:
    mine, other = await make_service(), await make_service()
    first, second = await make_deployment(mine), await make_deployment(other)
    owner = await token()
    viewer = await token(Role.VIEWER)
    limited = await token(Role.OWNER, projects=[mine.project_id])  # type: ignore[attr-defined]
    on_first: dict[str, object] = {"id": gid("Deployment", first.id)}
    on_second: dict[str, object] = {"id": gid("Deployment", second.id)}
    specs = [
        (owner, EVENTS, on_first),
        (owner, EVENTS, on_second),  # other variables
        (viewer, EVENTS, on_first),  # other scopes
        (limited, EVENTS, on_first),  # other projects
        (limited, EVENTS, on_second),  # other projects, and not visible to it
    ]
    async with subscribers(api, specs) as members:
        for member in members[:4]:
            await member.collector.wait_count(1)
        refused = await members[4].finished()
        assert executions(api) == len(specs)
        await run_phases(scripted_phases(first.id, lines_per_step=0))
        await run_phases(scripted_phases(second.id, lines_per_step=0))
        collectors = await asyncio.gather(*(m.finished() for m in members[:4]))
    assert [e["extensions"]["code"] for e in refused.errors] == ["NOT_FOUND"] and refused.items == []
    expected = [await stored_events(first.id), await stored_events(second.id)] + [await stored_events(first.id)] * 2
    for collector, stored in zip(collectors, expected, strict=True):
        assert collector.completed and seq_types(collector) == stored, collector.errors


async def test_a_late_joiner_gets_the_full_replay(db: Database, api: LiveServer) -> None:
    deployment = await new_deployment()
    secret = await token()
    variables: dict[str, object] = {"id": gid("Deployment", deployment.id)}
    phases = scripted_phases(deployment.id, lines_per_step=0)
    async with subscribers(api, [(secret, EVENTS, variables)]) as early:
        await run_phases(phases[:4])
        await early[0].collector.wait_count(len(await stored_events(deployment.id)))
        async with subscribers(api, [(secret, EVENTS, variables)]) as late:
            await late[0].collector.wait_count(len(early[0].collector.items))
            assert executions(api) == 1  # it joined the running execution
            await run_phases(phases[4:])
            collectors = [await early[0].finished(), await late[0].finished()]
    stored = await stored_events(deployment.id)
    for collector in collectors:
        assert collector.completed and seq_types(collector) == stored, collector.errors


async def test_a_joiner_after_more_than_the_replay_buffer_holds_gets_an_execution_of_its_own(
    db: Database, api: LiveServer
) -> None:
    deployment = await new_deployment()
    secret = await token()
    variables: dict[str, object] = {"id": gid("Deployment", deployment.id)}
    lines = [LogEntry(f"line {i}", LogStream.STDOUT, StepKind.PULL) for i in range(1200)]  # > 1000 messages
    async with subscribers(api, [(secret, LOGS, variables)]) as early:
        await append_logs(deployment.id, lines)
        await early[0].collector.wait_count(len(lines))
        async with subscribers(api, [(secret, LOGS, variables)]) as late:
            await late[0].collector.wait_count(len(lines))
            assert executions(api) == 2
            stored = await stored_logs(deployment.id)
            for collector in (early[0].collector, late[0].collector):
                assert [(item["seq"], item["text"]) for item in collector.items] == stored


async def test_one_member_completing_leaves_the_others_receiving(db: Database, api: LiveServer) -> None:
    deployment = await new_deployment()
    secret = await token()
    variables: dict[str, object] = {"id": gid("Deployment", deployment.id)}
    phases = scripted_phases(deployment.id, lines_per_step=0)
    async with subscribers(api, [(secret, EVENTS, variables)] * 3) as members:
        await asyncio.gather(*(m.collector.wait_count(1) for m in members))
        await until_gauge(api, 3)
        leaving = members[0]
        await leaving.socket.send({"id": leaving.op_id, "type": "complete"})
        await until_gauge(api, 2)
        await run_phases(phases)
        collectors = await asyncio.gather(*(m.finished() for m in members[1:]))
        assert executions(api) == 1
        assert leaving.reader is not None and not leaving.reader.done()  # nothing more came for it
        assert seq_types(leaving.collector) == [(1, "CREATED")]
    stored = await stored_events(deployment.id)
    for collector in collectors:
        assert collector.completed and seq_types(collector) == stored, collector.errors


async def test_a_revoked_token_ends_its_member_only(db: Database, api: LiveServer) -> None:
    deployment = await new_deployment()
    revoked_id, revoked = await token_with_id()
    kept = await token()
    variables: dict[str, object] = {"id": gid("Deployment", deployment.id)}
    phases = scripted_phases(deployment.id, lines_per_step=0)
    async with subscribers(api, [(revoked, EVENTS, variables), (kept, EVENTS, variables)]) as members:
        await run_phases(phases[:2])
        await asyncio.gather(*(m.collector.wait_count(2) for m in members))
        received = len(members[0].collector.items)
        await revoke_api_token(revoked_id)
        await run_phases(phases[2:])
        ended, continued = await asyncio.gather(*(m.finished() for m in members))
        assert executions(api) == 1
    assert [e["extensions"]["code"] for e in ended.errors] == ["UNAUTHENTICATED"]
    assert ended.errors[0]["path"] == ["deploymentEvents"]
    assert len(ended.items) == received  # nothing after the revocation went out to it
    assert continued.completed and seq_types(continued) == await stored_events(deployment.id)


async def test_a_member_that_stops_reading_stalls_nobody_and_gets_everything_later(
    db: Database, api: LiveServer
) -> None:
    deployment = await new_deployment()
    secret = await token()
    variables: dict[str, object] = {"id": gid("Deployment", deployment.id)}
    lines = [LogEntry(secrets.token_hex(400), LogStream.STDOUT, StepKind.PULL) for _ in range(4000)]
    async with (
        RawSocket(api.ws_url, TRANSPORT_WS, connect_args=stalled_connect_args(api)) as slow_socket,
        RawSocket(api.ws_url, TRANSPORT_WS) as fast_socket,
    ):
        ack = await slow_socket.init(secret)
        assert ack is not None and ack["type"] == "connection_ack"
        await slow_socket.subscribe("slow", LOGS, variables)  # and then reads nothing for now
        fast = await Subscriber(fast_socket, "fast").start(secret, LOGS, variables)
        await until_gauge(api, 2, stream="logs")
        for start in range(0, len(lines), 200):
            await append_logs(deployment.id, lines[start : start + 200])
            # The reading member has each batch while the other member reads nothing.
            await fast.collector.wait_count(start + 200)
        slow = Collector()
        reader = asyncio.create_task(slow_socket.collect("slow", slow, timeout=TIMEOUT))
        await slow.wait_count(len(lines))
        reader.cancel()
    assert executions(api) == 1
    stored = await stored_logs(deployment.id)
    for collector in (fast.collector, slow):
        assert [(item["seq"], item["text"]) for item in collector.items] == stored


async def test_each_member_counts_towards_its_connection_s_operation_limit(db: Database, api: LiveServer) -> None:
    deployment = await new_deployment()
    secret = await token()
    variables: dict[str, object] = {"id": gid("Deployment", deployment.id)}
    async with RawSocket(api.ws_url, TRANSPORT_WS) as socket:
        await socket.init(secret)
        for index in range(MAX_OPERATIONS_PER_CONNECTION):
            await socket.subscribe(f"op-{index}", EVENTS, variables)
        await socket.subscribe("one-too-many", EVENTS, variables)
        refused = await socket.recv_type("error", timeout=TIMEOUT)
        assert refused is not None and refused["id"] == "one-too-many", socket.received[-3:]
        assert "limit" in refused["payload"][0]["message"].lower()
        await until_gauge(api, MAX_OPERATIONS_PER_CONNECTION)
        assert executions(api) == 1
        # One member's `complete` frees its place; the next one joins the same execution.
        await socket.send({"id": "op-0", "type": "complete"})
        await until_gauge(api, MAX_OPERATIONS_PER_CONNECTION - 1)
        await socket.subscribe("another", EVENTS, variables)
        expected = {f"op-{index}" for index in range(1, MAX_OPERATIONS_PER_CONNECTION)} | {"another"}
        firsts: dict[str, int] = {}
        for message in socket.received:  # those read while waiting for the refusal
            if message.get("type") == "next":
                firsts.setdefault(message["id"], message["payload"]["data"]["deploymentEvents"]["seq"])
        while not expected <= set(firsts):
            message = await socket.recv_type("next", timeout=TIMEOUT)
            assert message is not None, socket.close_code
            firsts.setdefault(message["id"], message["payload"]["data"]["deploymentEvents"]["seq"])
        assert {firsts[op_id] for op_id in expected} == {1}  # each has the replay from the start
        assert executions(api) == 1
