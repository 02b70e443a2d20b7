"""Authorisation on streams (CONTRACT §5, §2): scopes and visibility at subscribe time, the
credential again before items go out, and a feed limited to the credential's projects."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from berth.auth.api_tokens import revoke_api_token
from berth.models import ApiToken
from berth.models.enums import Role
from berth.models.lifecycle import now
from tests.conftest import Database
from tests.models.factories import make_deployment, make_service
from tests.subscriptions.conftest import postgres_only
from tests.subscriptions.support import (
    EVENTS,
    FEED,
    LOGS,
    gid,
    new_deployment,
    run_phases,
    scripted_phases,
    stored_events,
    token,
    token_with_id,
    until_live,
)
from tests.support.collector import Collector
from tests.support.graphql import LEGACY_WS, GqlStream
from tests.support.live_server import LiveServer
from tests.support.websocket import RawSocket

pytestmark = postgres_only


def codes(collector: Collector) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in collector.errors]


async def test_revoking_the_token_ends_the_subscription_with_an_error(db: Database, api: LiveServer) -> None:
    deployment = await new_deployment()
    token_id, secret = await token_with_id()
    phases = scripted_phases(deployment.id, lines_per_step=10, batch=5)
    variables = {"id": gid("Deployment", deployment.id)}
    events = GqlStream(api.ws_url, secret, EVENTS, variables).start()
    logs = GqlStream(api.ws_url, secret, LOGS, variables).start()
    async with RawSocket(api.ws_url, LEGACY_WS) as legacy:
        await legacy.init(secret)
        await legacy.subscribe("events", EVENTS, variables)
        legacy_events = Collector()
        reader = asyncio.create_task(legacy.collect_all({"events": legacy_events}))
        await run_phases(phases[:2])
        for collector in (events.collector, legacy_events):
            await collector.wait_count(5)
        await logs.collector.wait_count(10)
        received = (len(events.collector.items), len(logs.collector.items), len(legacy_events.items))
        await revoke_api_token(token_id)
        await run_phases(phases[2:])
        await events.collector.wait_done()
        await logs.collector.wait_done()
        await reader
    for collector in (events.collector, logs.collector, legacy_events):
        assert codes(collector) == ["UNAUTHENTICATED"], collector.errors
        assert not collector.completed
    # Nothing written after the revocation went out.
    assert (len(events.collector.items), len(logs.collector.items), len(legacy_events.items)) == received


async def test_a_credential_expiring_during_the_subscription_ends_it_with_an_error(
    db: Database, api: LiveServer
) -> None:
    service = await make_service()
    deployment = await make_deployment(service)
    token_id, secret = await token_with_id(expires_in_days=1)
    phases = scripted_phases(deployment.id, lines_per_step=0)
    feed = GqlStream(api.ws_url, secret, FEED, {}).start()
    events = GqlStream(api.ws_url, secret, EVENTS, {"id": gid("Deployment", deployment.id)}).start()
    await until_live(feed, service)
    await run_phases(phases[:1])
    await events.collector.wait_count(2)
    await feed.collector.wait(lambda c: any(i["type"] == "STATUS_CHANGED" for i in c.items), what="PREPARE")
    await ApiToken.filter(id=token_id).update(expires_at=now() - timedelta(seconds=1))
    await run_phases(phases[1:])
    for stream in (events, feed):
        await stream.collector.wait_done()
        assert codes(stream.collector) == ["UNAUTHENTICATED"], stream.collector.errors


async def test_scopes_and_visibility_are_checked_at_subscribe_time(db: Database, api: LiveServer) -> None:
    mine = await make_service()
    other = await make_service()
    deployment = await make_deployment(mine)
    hidden = await make_deployment(other)
    viewer = await token(Role.VIEWER)  # deploy:read, no logs:read
    limited = await token(Role.OWNER, projects=[mine.project_id])  # type: ignore[attr-defined]
    cases = [
        (viewer, LOGS, {"id": gid("Deployment", deployment.id)}, "FORBIDDEN"),
        (None, EVENTS, {"id": gid("Deployment", deployment.id)}, "UNAUTHENTICATED"),
        (limited, EVENTS, {"id": gid("Deployment", hidden.id)}, "NOT_FOUND"),
        (limited, LOGS, {"id": gid("Deployment", hidden.id)}, "NOT_FOUND"),
        (limited, FEED, {"project": gid("Project", other.project_id)}, "NOT_FOUND"),  # type: ignore[attr-defined]
        (limited, EVENTS, {"id": "not-an-id"}, "NOT_FOUND"),
    ]
    streams = [GqlStream(api.ws_url, secret, query, variables).start() for secret, query, variables, _ in cases]
    for stream, (_, _, _, code) in zip(streams, cases, strict=True):
        await stream.collector.wait_done()
        assert codes(stream.collector) == [code], (stream.variables, stream.collector.errors)
        assert stream.collector.items == []
    # Allowed: the viewer reads events; the limited token its own project's deployment.
    for secret in (viewer, limited):
        allowed = GqlStream(api.ws_url, secret, EVENTS, {"id": gid("Deployment", deployment.id)}).start()
        await allowed.collector.wait_count(1)
        assert allowed.collector.items[0]["seq"] == 1 and not allowed.collector.errors
        await allowed.stop()


async def test_a_project_limited_feed_carries_no_other_project_s_deployments(
    db: Database, api: LiveServer
) -> None:
    in_project = await make_service()
    elsewhere = await make_service()
    project_id = in_project.project_id  # type: ignore[attr-defined]
    limited = await token(Role.OWNER, projects=[project_id])
    everything = await token(Role.OWNER)
    limited_feed = GqlStream(api.ws_url, limited, FEED, {}).start()
    project_feed = GqlStream(api.ws_url, everything, FEED, {"project": gid("Project", project_id)}).start()
    full_feed = GqlStream(api.ws_url, everything, FEED, {}).start()
    feeds = (limited_feed, project_feed, full_feed)

    def concluded(collector: Collector, deployment_id: int) -> bool:
        return any(
            item["type"] == "CONCLUDED" and item["deployment"]["id"] == gid("Deployment", deployment_id)
            for item in collector.items
        )

    for feed in feeds:
        await until_live(feed, in_project)
    # Now a deployment elsewhere, then one more in the project.
    other = await make_deployment(elsewhere)
    await run_phases(scripted_phases(other.id, lines_per_step=0))
    last = await make_deployment(in_project)
    await run_phases(scripted_phases(last.id, lines_per_step=0))
    for feed in feeds:
        await feed.collector.wait(lambda c: concluded(c, last.id) or c.done, what="the last deployment")
    await full_feed.collector.wait(lambda c: concluded(c, other.id) or c.done, what="the other deployment")

    def of(collector: Collector, deployment_id: int) -> list[int]:
        return [item["seq"] for item in collector.items if item["deployment"]["id"] == gid("Deployment", deployment_id)]

    stored_last = [seq for seq, _ in await stored_events(last.id)]
    stored_other = [seq for seq, _ in await stored_events(other.id)]
    for feed in (limited_feed, project_feed):
        assert not feed.collector.errors and not feed.collector.done
        assert of(feed.collector, other.id) == []
        assert {item["deployment"]["project"]["id"] for item in feed.collector.items} == {gid("Project", project_id)}
        assert of(feed.collector, last.id) == stored_last  # every event once, in order
    assert of(full_feed.collector, other.id) == stored_other
    assert of(full_feed.collector, last.id) == stored_last
    for feed in feeds:
        await feed.stop()
