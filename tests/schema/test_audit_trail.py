"""The audit trail of the real server: an entry for every mutation of the printed schema
(OK with its scope, REFUSED without it and for refused input), for refused credentials over
HTTP and WebSocket, and `auditEvents` paging, filtering and hiding what a credential may not see."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from berth.auth.scopes import SCOPE_NAMES
from berth.domain.audit import ACTIONS
from berth.models import AuditEvent
from berth.models.enums import Role
from tests.schema.conftest import Stack
from tests.schema.test_mutation_refusal import VALID_INPUTS, document
from tests.schema.walk import Step, scope_map
from tests.schema.world import World, gid, mint, refused_inputs
from tests.support.graphql import TRANSPORT_WS
from tests.support.websocket import exchange

ALL = frozenset(SCOPE_NAMES)
MUTATIONS = sorted(scope_map().object_type("Mutation").fields)
# Secret values the valid inputs carry: none may reach an entry.
SECRETS = ("valid-registry-password", "https://hooks.example.test/services/T0/B0/x", "refused-anyway",
           "https://hooks.example.test/walk")
AUDIT = """
query($first: Int, $after: String, $filter: AuditFilter) {
  auditEvents(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id action outcome targetType targetId requestId remoteAddress details
                          actor { subject tokenKind } } }
  }
}"""


@pytest.fixture(scope="module")
def world(stack: Stack) -> World:
    return stack.seeded()


async def newest_id() -> int:
    row = await AuditEvent.all().order_by("-id").first()
    return row.id if row is not None else 0


async def call(orm: Stack, token: str | None, mutation: str, variables: dict[str, Any]) -> Any:
    client = orm.client(token)
    try:
        return await asyncio.to_thread(client.execute, document(mutation), variables)
    finally:
        client.close()


def test_every_mutation_of_the_printed_schema_has_its_action() -> None:
    """A new mutation fails here until `berth.domain.audit.ACTIONS` names its action."""
    assert set(ACTIONS) == set(MUTATIONS)
    assert len(set(ACTIONS.values())) == len(ACTIONS)
    assert all(action.count(".") == 1 for action in ACTIONS.values())


@pytest.mark.parametrize("mutation", MUTATIONS)
async def test_a_mutation_that_changes_something_writes_one_ok_entry(
    mutation: str, orm: Stack, world: World
) -> None:
    token = await mint(ALL)
    variables = await VALID_INPUTS[mutation](world)
    before = await newest_id()

    result = await call(orm, token, mutation, variables)

    assert not result.errors and result.data[mutation]["errors"] == [], result
    entries = [e for e in await AuditEvent.filter(id__gt=before) if e.action == ACTIONS[mutation]]
    assert len(entries) == 1, entries
    entry = entries[0]
    assert entry.outcome == "OK"
    assert entry.actor is not None and entry.actor_subject == entry.actor["subject"]
    assert entry.actor["tokenKind"] == "API_TOKEN"
    assert entry.request_id and entry.remote_address == "127.0.0.1"
    assert entry.target_type is not None and entry.target_pk is not None
    assert entry.details["input"] == json.loads(json.dumps(entry.details["input"]))
    text = json.dumps(entry.details)
    assert not any(secret in text for secret in SECRETS), text


@pytest.mark.parametrize("mutation", MUTATIONS)
async def test_a_mutation_refused_by_scope_writes_a_refused_entry(mutation: str, orm: Stack, world: World) -> None:
    required = scope_map().required(Step("Mutation", mutation))
    token = await mint(ALL - required)
    variables = await VALID_INPUTS[mutation](world)
    before = await newest_id()

    result = await call(orm, token, mutation, variables)

    assert result.errors and result.errors[0]["extensions"]["code"] == "FORBIDDEN"
    entries = await AuditEvent.filter(id__gt=before)
    assert [(e.action, e.outcome) for e in entries] == [(ACTIONS[mutation], "REFUSED")]
    assert entries[0].details["errors"][0]["code"] == "FORBIDDEN"
    assert entries[0].actor is not None
    assert not any(secret in json.dumps(entries[0].details) for secret in SECRETS)


@pytest.mark.parametrize("mutation", MUTATIONS)
async def test_a_mutation_refused_for_its_input_writes_a_refused_entry(
    mutation: str, orm: Stack, world: World
) -> None:
    token = await mint(ALL)
    before = await newest_id()

    result = await call(orm, token, mutation, refused_inputs(world)[mutation])

    assert not result.errors and result.data[mutation]["errors"], result
    entries = await AuditEvent.filter(id__gt=before)
    assert [(e.action, e.outcome) for e in entries] == [(ACTIONS[mutation], "REFUSED")]
    codes = [error["code"] for error in entries[0].details["errors"]]
    assert codes == [error["code"] for error in result.data[mutation]["errors"]]
    assert not any(secret in json.dumps(entries[0].details) for secret in SECRETS)


async def test_an_anonymous_mutation_is_refused_with_no_actor(orm: Stack, world: World) -> None:
    before = await newest_id()
    result = await call(orm, None, "startDeployment", await VALID_INPUTS["startDeployment"](world))
    assert result.errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
    entries = await AuditEvent.filter(id__gt=before)
    assert [(e.action, e.outcome, e.actor) for e in entries] == [("deployment.start", "REFUSED", None)]
    # The refused request named service A: the entry is about it, in its project.
    assert (entries[0].target_type, entries[0].target_pk) == ("Service", world.service_a)
    assert entries[0].project_id == world.project_a


async def test_token_creation_and_revocation_are_recorded_without_the_secret(orm: Stack, world: World) -> None:
    token = await mint(ALL)
    before = await newest_id()
    created = await call(orm, token, "createApiToken", {"input": {"name": "audited", "role": "VIEWER"}})
    assert created.data["createApiToken"]["errors"] == []
    row = await AuditEvent.filter(id__gt=before, action="token.create").get()
    revoked = await call(orm, token, "revokeApiToken", {"id": gid("ApiToken", row.target_pk)})
    assert revoked.data["revokeApiToken"]["errors"] == []
    entries = await AuditEvent.filter(id__gt=before).order_by("id")
    assert [(e.action, e.outcome, e.target_pk) for e in entries] == [
        ("token.create", "OK", row.target_pk), ("token.revoke", "OK", row.target_pk)]
    assert entries[0].target_label == "token audited"
    assert "berth_" not in json.dumps([e.details for e in entries])


# ---------------------------------------------------------------- refused credentials


async def test_a_refused_credential_over_http_is_an_entry_without_token_material(orm: Stack) -> None:
    credential = "berth_" + "x" * 40
    before = await newest_id()
    client = orm.client()
    try:
        response = await asyncio.to_thread(client.post, "{ viewer { subject } }",
                                           headers={"Authorization": f"Bearer {credential}"})
    finally:
        client.close()
    assert response.status_code == 401
    entries = await AuditEvent.filter(id__gt=before)
    assert [(e.action, e.outcome, e.actor) for e in entries] == [("auth.refused", "REFUSED", None)]
    assert entries[0].remote_address == "127.0.0.1"
    assert entries[0].details["transport"] == "http"
    assert entries[0].details["reason"]
    assert "xxxx" not in json.dumps(entries[0].details) and "berth_" not in json.dumps(entries[0].details)


async def test_a_refused_credential_over_websocket_is_an_entry(orm: Stack) -> None:
    credential = "Bearer berth_" + "y" * 40
    before = await newest_id()
    closed = await exchange(orm.client().ws_url, TRANSPORT_WS,
                            [{"type": "connection_init", "payload": {"authorization": credential}}])
    assert closed.code == 4403
    entries = await AuditEvent.filter(id__gt=before)
    assert [(e.action, e.outcome) for e in entries] == [("auth.refused", "REFUSED")]
    assert entries[0].details["transport"] == "websocket"
    assert entries[0].remote_address == "127.0.0.1"
    assert "yyyy" not in json.dumps(entries[0].details)


async def test_a_flood_of_one_bad_credential_is_folded_into_one_entry(orm: Stack) -> None:
    before = await newest_id()
    client = orm.client()
    try:
        for _ in range(5):
            response = await asyncio.to_thread(client.post, "{ viewer { subject } }",
                                               headers={"Authorization": "Basic Zmxvb2Q="})
            assert response.status_code == 401
    finally:
        client.close()
    entries = await AuditEvent.filter(id__gt=before, action="auth.refused")
    assert len(entries) == 1
    assert entries[0].details["reason"] == "Authorization header must use the Bearer scheme"


# ---------------------------------------------------------------- reading the trail


def audit_page(stack: Stack, token: str, **variables: Any) -> Any:
    client = stack.client(token)
    try:
        result = client.execute(AUDIT, variables)
    finally:
        client.close()
    assert not result.errors, result.errors
    return result.data["auditEvents"]


async def test_audit_events_page_newest_first_and_filter(orm: Stack, world: World) -> None:
    owner = await mint(ALL)
    for _ in range(3):
        result = await call(orm, owner, "startDeployment", refused_inputs(world)["startDeployment"])
        assert result.data["startDeployment"]["errors"]
    subject = (await AuditEvent.filter(action="deployment.start").order_by("-id").first()).actor_subject  # type: ignore[union-attr]

    first = await asyncio.to_thread(audit_page, orm, owner, first=2, filter={"subject": subject})
    assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"]
    rest = await asyncio.to_thread(audit_page, orm, owner, first=2, after=first["pageInfo"]["endCursor"],
                                   filter={"subject": subject})
    nodes = [edge["node"] for edge in first["edges"] + rest["edges"]]
    assert len(nodes) == 3 and not rest["pageInfo"]["hasNextPage"]
    ids = [(await AuditEvent.get(action="deployment.start", request_id=n["requestId"])).id for n in nodes]
    assert ids == sorted(ids, reverse=True)
    assert all(n["action"] == "deployment.start" and n["outcome"] == "REFUSED" for n in nodes)
    assert all(n["actor"]["subject"] == subject for n in nodes)

    by_prefix = await asyncio.to_thread(audit_page, orm, owner, filter={"action": "deployment.*", "subject": subject})
    assert len(by_prefix["edges"]) == 3
    other = await asyncio.to_thread(audit_page, orm, owner, filter={"action": "token.create", "subject": subject})
    assert other["edges"] == []
    seeded = await asyncio.to_thread(
        audit_page, orm, owner, filter={"targetId": gid("Deployment", world.deployment_a2)})
    assert [e["node"]["id"] for e in seeded["edges"]] == [gid("AuditEvent", world.audit_event)]
    future = await asyncio.to_thread(audit_page, orm, owner, filter={"since": "2999-01-01T00:00:00Z"})
    assert future["edges"] == []


async def test_a_project_limited_credential_sees_only_its_projects_entries(orm: Stack, world: World) -> None:
    limited = await mint(["audit:read"], role=Role.ADMIN, project_ids=[world.project_b])
    admin = await mint(["audit:read"], role=Role.ADMIN)
    seeded = gid("AuditEvent", world.audit_event)
    everything = await asyncio.to_thread(audit_page, orm, admin, first=100)
    assert seeded in [e["node"]["id"] for e in everything["edges"]]
    mine = await asyncio.to_thread(audit_page, orm, limited, first=100)
    assert seeded not in [e["node"]["id"] for e in mine["edges"]]
    projects = {gid("AuditEvent", row.id): row.project_id for row in await AuditEvent.all()}
    assert all(projects[edge["node"]["id"]] == world.project_b for edge in mine["edges"])

    client = orm.client(limited)
    try:
        node = await asyncio.to_thread(client.execute, "query($id: ID!) { node(id: $id) { id } }", {"id": seeded})
    finally:
        client.close()
    assert node.data == {"node": None}


async def test_reading_the_trail_needs_audit_read(orm: Stack) -> None:
    operator = await mint(ALL - {"audit:read"}, role=Role.OWNER)
    client = orm.client(operator)
    try:
        result = await asyncio.to_thread(client.execute, AUDIT, {})
    finally:
        client.close()
    assert result.data == {"auditEvents": None}
    assert result.errors[0]["extensions"]["code"] == "FORBIDDEN"
