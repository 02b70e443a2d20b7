"""deploymentLogBatches against a real server: the same lines as deploymentLogs, in seq order,
gap-free across batches and across a resume, at most maxLines per message."""

from __future__ import annotations

from typing import Any

from berth.models.enums import Role
from tests.conftest import Database
from tests.subscriptions.conftest import postgres_only
from tests.subscriptions.support import (
    gid,
    new_deployment,
    run_phases,
    scripted_phases,
    stored_logs,
    token,
)
from tests.support.collector import Collector
from tests.support.graphql import GqlStream
from tests.support.live_server import LiveServer

BATCHES = """subscription ($id: ID!, $after: Int, $max: Int) {
  deploymentLogBatches(deploymentId: $id, afterSeq: $after, maxLines: $max) {
    lastSeq lines { seq text stream step }
  }
}"""


def lines_of(collector: Collector) -> list[tuple[int, str]]:
    return [(line["seq"], line["text"]) for batch in collector.items for line in batch["lines"]]


def assert_batches_well_formed(collector: Collector, max_lines: int) -> None:
    for batch in collector.items:
        assert 1 <= len(batch["lines"]) <= max_lines, len(batch["lines"])
        assert batch["lastSeq"] == batch["lines"][-1]["seq"]
        seqs = [line["seq"] for line in batch["lines"]]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs


@postgres_only
async def test_batches_replay_then_stream_every_line_once_in_order(db: Database, api: LiveServer) -> None:
    deployment = await new_deployment()
    secret = await token()
    phases = scripted_phases(deployment.id, lines_per_step=300, batch=40)
    await run_phases(phases[:2])  # 300 lines stored before the subscription
    variables = {"id": gid("Deployment", deployment.id), "max": 64}
    batches = GqlStream(api.ws_url, secret, BATCHES, variables).start()
    await batches.collector.wait_count(1)
    await run_phases(phases[2:])  # the rest arrives live
    await batches.collector.wait_done()
    assert batches.collector.completed, (batches.collector.errors, batches.collector.closed)
    assert_batches_well_formed(batches.collector, 64)
    assert lines_of(batches.collector) == await stored_logs(deployment.id)
    assert len(lines_of(batches.collector)) == 900
    # The replay of 300 stored lines came in full batches, not line by line.
    assert len(batches.collector.items[0]["lines"]) == 64
    assert len(batches.collector.items) < 900


@postgres_only
async def test_a_resume_from_last_seq_has_no_gap_or_duplicate(db: Database, api: LiveServer) -> None:
    deployment = await new_deployment()
    secret = await token()
    phases = scripted_phases(deployment.id, lines_per_step=50, batch=7)
    variables: dict[str, Any] = {"id": gid("Deployment", deployment.id), "max": 10}
    first = GqlStream(api.ws_url, secret, BATCHES, variables).start()
    await run_phases(phases[:3])
    await first.collector.wait(lambda c: len(lines_of(c)) >= 20 or c.done, what="20 lines")
    await first.stop()  # the connection drops; lines keep coming meanwhile
    resume_from = first.collector.items[-1]["lastSeq"]
    await run_phases(phases[3:6])
    second = GqlStream(api.ws_url, secret, BATCHES, {**variables, "after": resume_from}).start()
    await run_phases(phases[6:])
    await second.collector.wait_done()
    assert second.collector.completed, second.collector.errors
    assert_batches_well_formed(second.collector, 10)
    received = [seq for seq, _ in lines_of(first.collector) if seq <= resume_from] + \
        [seq for seq, _ in lines_of(second.collector)]
    assert received == [seq for seq, _ in await stored_logs(deployment.id)]


async def test_a_concluded_deployment_replays_in_batches_and_completes(db: Database, api: LiveServer) -> None:
    deployment = await new_deployment()
    secret = await token()
    await run_phases(scripted_phases(deployment.id, lines_per_step=7))
    stored = await stored_logs(deployment.id)
    variables = {"id": gid("Deployment", deployment.id)}
    whole = GqlStream(api.ws_url, secret, BATCHES, variables).start()
    tail = GqlStream(api.ws_url, secret, BATCHES, {**variables, "after": 5, "max": 4}).start()
    for stream in (whole, tail):
        await stream.collector.wait_done()
        assert stream.collector.completed, stream.collector.errors
    # The default batch (500) holds all 21 lines in one message.
    assert len(whole.collector.items) == 1 and lines_of(whole.collector) == stored
    assert_batches_well_formed(tail.collector, 4)
    assert lines_of(tail.collector) == [item for item in stored if item[0] > 5]


async def test_max_lines_out_of_range_and_missing_scope_are_refused(db: Database, api: LiveServer) -> None:
    deployment = await new_deployment()
    owner = await token()
    viewer = await token(Role.VIEWER)  # deploy:read, no logs:read
    ident = gid("Deployment", deployment.id)
    cases = [(owner, {"id": ident, "max": 0}), (owner, {"id": ident, "max": 5001}), (viewer, {"id": ident})]
    streams = [GqlStream(api.ws_url, secret, BATCHES, variables).start() for secret, variables in cases]
    for stream in streams:
        await stream.collector.wait_done()
        assert stream.collector.items == []
    for stream in streams[:2]:
        [error] = stream.collector.errors
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert error["extensions"]["field"] == ["maxLines"] and "maxLines" in error["message"], error
    [refused] = streams[2].collector.errors
    assert refused["extensions"]["code"] == "FORBIDDEN", refused
