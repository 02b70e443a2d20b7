"""Notification channels over the API: created with the secret shown once and the URL never
again, visible and usable only within the credential's projects (CONTRACT §2)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from berth.auth.scopes import SCOPE_NAMES
from berth.models import NotificationChannel, NotificationDelivery, Project
from tests.schema.conftest import Stack
from tests.schema.world import World, gid, make_notification_channel, mint, snapshot

ALL = sorted(SCOPE_NAMES)
URL = "https://hooks.example.test/services/T0/B0/url-is-a-credential"
CREATE = """mutation($input: CreateNotificationChannelInput!) {
  createNotificationChannel(input: $input) {
    secret errors { code field message }
    channel { id name kind events createdAt project { id } deliveries(first: 5) { totalCount } }
  }
}"""
CHANNELS = "query($id: ID!) { node(id: $id) { ... on Project { notificationChannels { id name } } } }"


@pytest.fixture(scope="module")
def world(stack: Stack) -> World:
    return stack.seeded()


async def execute(stack: Stack, token: str, query: str, variables: dict[str, Any]) -> Any:
    client = stack.client(token)
    try:
        return await asyncio.to_thread(client.execute, query, variables)
    finally:
        client.close()


async def test_a_channel_is_created_with_its_secret_once_and_never_its_url(orm: Stack, world: World) -> None:
    token = await mint(ALL)
    project = gid("Project", world.project_a)
    result = await execute(orm, token, CREATE, {"input": {
        "projectId": project, "name": "deploys", "kind": "WEBHOOK", "url": URL,
        "events": ["deployment.failed", "deployment.succeeded"]}})
    assert not result.errors, result.errors
    payload = result.data["createNotificationChannel"]
    assert payload["errors"] == [] and payload["secret"] and len(payload["secret"]) >= 40
    channel = payload["channel"]
    assert (channel["name"], channel["kind"], channel["events"]) == (
        "deploys", "WEBHOOK", ["deployment.failed", "deployment.succeeded"])
    assert channel["project"] == {"id": project} and channel["deliveries"] == {"totalCount": 0}
    assert "url-is-a-credential" not in repr(result.data)
    listed = await execute(orm, token, CHANNELS, {"id": project})
    assert {"id": channel["id"], "name": "deploys"} in listed.data["node"]["notificationChannels"]
    # Slack and Discord channels have no signing secret; a bad input names its field.
    slack = await execute(orm, token, CREATE, {"input": {
        "projectId": project, "name": "chat", "kind": "SLACK", "url": URL, "events": ["deployment.*"]}})
    assert slack.data["createNotificationChannel"]["secret"] is None
    refused = await execute(orm, token, CREATE, {"input": {
        "projectId": project, "name": "bad", "kind": "DISCORD", "url": "https://u:p@discord.example.test/x",
        "events": ["deployment.*"]}})
    assert refused.data["createNotificationChannel"]["errors"] == [{
        "code": "INVALID_INPUT", "field": ["input", "url"], "message": "url must not carry credentials (user:password@)"}]
    # Testing it queues a delivery, shown in the channel's deliveries.
    tested = await execute(orm, token, "mutation($id: ID!) { testNotificationChannel(id: $id) { errors { code } "
                           "channel { deliveries { edges { node { event status deployment { id } } } } } } }",
                           {"id": channel["id"]})
    edges = tested.data["testNotificationChannel"]["channel"]["deliveries"]["edges"]
    assert [e["node"]["event"] for e in edges] == ["notification.test"] and edges[0]["node"]["deployment"] is None
    # Nothing left for the server's sender to retry while the next test compares snapshots.
    await NotificationChannel.filter(name__in=["deploys", "chat"]).delete()


async def test_a_project_limited_credential_sees_and_acts_on_its_projects_only(orm: Stack, world: World) -> None:
    theirs = await make_notification_channel(await Project.get(id=world.project_b))
    await NotificationDelivery.filter(channel_id=theirs.id).delete()
    limited = await mint(ALL, project_ids=[world.project_a])
    before = await snapshot()
    created = await execute(orm, limited, CREATE, {"input": {
        "projectId": gid("Project", world.project_b), "name": "intruder", "kind": "WEBHOOK", "url": URL,
        "events": ["deployment.*"]}})
    assert created.data["createNotificationChannel"]["errors"][0]["code"] == "NOT_FOUND"
    for mutation in ("deleteNotificationChannel", "testNotificationChannel"):
        result = await execute(orm, limited, f"mutation($id: ID!) {{ {mutation}(id: $id) {{ errors {{ code field }} }} }}",
                               {"id": gid("NotificationChannel", theirs.id)})
        assert result.data[mutation]["errors"] == [{"code": "NOT_FOUND", "field": ["id"]}], result.data
    assert await snapshot() == before
    node = "query($id: ID!) { node(id: $id) { id } }"
    assert (await execute(orm, limited, node, {"id": gid("NotificationChannel", theirs.id)})).data == {"node": None}
    own = gid("NotificationChannel", world.notification_channel)
    assert (await execute(orm, limited, node, {"id": own})).data == {"node": {"id": own}}
    delivery = gid("NotificationDelivery", world.notification_delivery)
    assert (await execute(orm, limited, node, {"id": delivery})).data == {"node": {"id": delivery}}
    of_b = await mint(ALL, project_ids=[world.project_b])
    assert (await execute(orm, of_b, node, {"id": delivery})).data == {"node": None}
    assert await NotificationChannel.filter(id=theirs.id).exists()
