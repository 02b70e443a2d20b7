"""The authentication edge of the real server (CONTRACT §2, §5): anonymous requests, bad
credentials over HTTP (401) and over both WebSocket protocols, and good ones accepted."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from berth.auth.api_tokens import revoke_api_token
from berth.models import ApiToken, DeploymentStep, Service
from berth.models.enums import Role
from tests.auth.issuer import Issuer
from tests.schema.conftest import Stack
from tests.schema.walk import Step, all_edges, render, scope_map
from tests.schema.world import World, expire_token, gid, make_deployment, mint, root_arguments
from tests.support.graphql import LEGACY_WS, TRANSPORT_WS, Result, bearer
from tests.support.names import unique
from tests.support.websocket import RawSocket, exchange

CHALLENGE = 'Bearer realm="berth", error="invalid_token"'
VIEWER = "query { viewer { subject tokenKind } }"


@dataclass
class Prepared:
    """Credentials that need the database: made once per module."""

    world: World
    revoked: str
    expired: str
    valid: str


@pytest.fixture(scope="module")
def prepared(stack: Stack) -> Prepared:
    world = stack.seeded()

    async def make() -> Prepared:
        revoked = await mint(["deploy:read"], role=Role.VIEWER)
        row = await ApiToken.get(prefix=revoked[:14])
        await revoke_api_token(row.id)
        expired = await mint(["deploy:read"], role=Role.VIEWER)
        await expire_token(expired[:14])
        valid = await mint(["deploy:read"], role=Role.VIEWER)
        return Prepared(world, revoked, expired, valid)

    return stack.run(make)


# ---------------------------------------------------------------- bad credentials

BadCredential = Callable[[Issuer, Prepared], str]

BAD_CREDENTIALS: dict[str, BadCredential] = {
    "expired-jwt": lambda i, p: "Bearer " + i.sign(
        i.claims(iat=int(time.time()) - 900, nbf=int(time.time()) - 900, exp=int(time.time()) - 300)
    ),
    "jwt-not-yet-valid": lambda i, p: "Bearer " + i.sign(i.claims(nbf=int(time.time()) + 600)),
    "jwt-wrong-issuer": lambda i, p: "Bearer " + i.sign(i.claims(iss="https://issuer.example")),
    "jwt-wrong-audience": lambda i, p: "Bearer " + i.sign(i.claims(aud="https://elsewhere.example/graphql")),
    "jwt-missing-typ": lambda i, p: "Bearer " + i.sign(i.claims(), headers={"typ": None}),
    "jwt-wrong-typ": lambda i, p: "Bearer " + i.sign(i.claims(), headers={"typ": "JWT"}),
    "jwt-alg-none": lambda i, p: "Bearer " + Issuer.alg_none(i.claims(), kid="rs256-1"),
    "jwt-hs256-with-public-key": lambda i, p: "Bearer " + i.hs256_with_public_key(i.claims()),
    "jwt-tampered-payload": lambda i, p: "Bearer " + Issuer.tamper(i.sign(i.claims()), berth_role="owner"),
    "jwt-unknown-kid": lambda i, p: "Bearer " + i.sign_with_unpublished_key(i.claims(), kid="nobody"),
    "revoked-api-token": lambda i, p: "Bearer " + p.revoked,
    "expired-api-token": lambda i, p: "Bearer " + p.expired,
    "unknown-api-token": lambda i, p: "Bearer " + "berth_pat_" + "A" * 43,
    "malformed-scheme": lambda i, p: "Token " + p.valid,
    "malformed-no-token": lambda i, p: "Bearer",
    "malformed-two-tokens": lambda i, p: f"Bearer {p.valid} {p.valid}",
    "malformed-characters": lambda i, p: "Bearer not a token!",
    "malformed-short-api-token": lambda i, p: "Bearer berth_pat_short",
}


def assert_401(response_status: int, headers: dict[str, str], body: bytes, credential: str) -> None:
    assert response_status == 401, body
    assert headers["www-authenticate"] == CHALLENGE
    parsed = json.loads(body)
    assert list(parsed) == ["errors"] and len(parsed["errors"]) == 1, parsed
    error = parsed["errors"][0]
    assert set(error) == {"message", "extensions"}
    assert isinstance(error["message"], str) and error["message"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}
    # The reason, never the credential.
    secret = credential.split()[-1]
    assert len(secret) < 8 or secret not in body.decode()


@pytest.mark.parametrize("kind", sorted(BAD_CREDENTIALS))
def test_bad_credential_is_401_over_http(kind: str, stack: Stack, prepared: Prepared) -> None:
    credential = BAD_CREDENTIALS[kind](stack.issuer, prepared)
    client = stack.client()
    try:
        for response in (
            client.post(VIEWER, headers={"Authorization": credential}),
            client.get(VIEWER, headers={"Authorization": credential}),
        ):
            assert_401(response.status_code, dict(response.headers), response.content, credential)
    finally:
        client.close()


@pytest.mark.parametrize("kind", sorted(BAD_CREDENTIALS))
async def test_bad_credential_closes_graphql_transport_ws_with_4403(
    kind: str, stack: Stack, prepared: Prepared
) -> None:
    credential = BAD_CREDENTIALS[kind](stack.issuer, prepared)
    url = stack.client().ws_url
    in_payload = await exchange(url, TRANSPORT_WS, [{"type": "connection_init", "payload": {"authorization": credential}}])
    in_header = await exchange(url, TRANSPORT_WS, [{"type": "connection_init", "payload": {}}],
                             headers={"Authorization": credential})
    for closed in (in_payload, in_header):
        assert closed.code == 4403, closed
        assert all(m.get("type") != "connection_ack" for m in closed.messages), closed


@pytest.mark.parametrize("kind", sorted(BAD_CREDENTIALS))
async def test_bad_credential_gets_connection_error_on_legacy_graphql_ws(
    kind: str, stack: Stack, prepared: Prepared
) -> None:
    credential = BAD_CREDENTIALS[kind](stack.issuer, prepared)
    closed = await exchange(
        stack.client().ws_url, LEGACY_WS, [{"type": "connection_init", "payload": {"authorization": credential}}]
    )
    assert [m["type"] for m in closed.messages] == ["connection_error"], closed
    assert closed.messages[0]["payload"]["message"]
    assert closed.code is not None  # then the server closed the connection


# ---------------------------------------------------------------- good credentials


def test_good_credentials_are_accepted_over_http(stack: Stack, prepared: Prepared) -> None:
    for token, kind in ((stack.jwt(), "JWT"), (prepared.valid, "API_TOKEN")):
        client = stack.client(token)
        try:
            result = client.execute(VIEWER)
        finally:
            client.close()
        assert not result.errors and result.data["viewer"]["tokenKind"] == kind


@pytest.mark.parametrize("where", ["payload", "header"])
async def test_good_credentials_are_accepted_over_websocket(where: str, stack: Stack, prepared: Prepared) -> None:
    for token, kind in ((stack.jwt(), "JWT"), (prepared.valid, "API_TOKEN")):
        payload = {"authorization": f"Bearer {token}"} if where == "payload" else {}
        headers = bearer(token) if where == "header" else {}
        closed = await exchange(
            stack.client().ws_url,
            TRANSPORT_WS,
            [
                {"type": "connection_init", "payload": payload},
                {"type": "subscribe", "id": "1", "payload": {"query": VIEWER}},
            ],
            headers=headers,
            until="complete",
        )
        types = [m["type"] for m in closed.messages]
        assert types == ["connection_ack", "next", "complete"], closed
        payload_out = closed.messages[1]["payload"]
        assert "errors" not in payload_out and payload_out["data"]["viewer"]["tokenKind"] == kind, closed

        # Legacy graphql-ws carries subscriptions only.
        events = "subscription($id: ID!) { deploymentEvents(deploymentId: $id) { seq } }"
        legacy = await exchange(
            stack.client().ws_url,
            LEGACY_WS,
            [
                {"type": "connection_init", "payload": payload},
                {"type": "start", "id": "1", "payload": {
                    "query": events, "variables": {"id": gid("Deployment", prepared.world.deployment_a1)}}},
            ],
            headers=headers,
            until="complete",
        )
        types = [m["type"] for m in legacy.messages]
        assert types[0] == "connection_ack" and types[-1] == "complete", legacy
        data = [m["payload"] for m in legacy.messages if m["type"] == "data"]
        assert data and all("errors" not in d for d in data), legacy
        assert [d["data"]["deploymentEvents"]["seq"] for d in data] == list(range(1, len(data) + 1))


async def test_query_over_legacy_graphql_ws_is_a_client_error_not_a_masked_one(
    stack: Stack, prepared: Prepared
) -> None:
    closed = await exchange(
        stack.client().ws_url,
        LEGACY_WS,
        [
            {"type": "connection_init", "payload": {"authorization": f"Bearer {prepared.valid}"}},
            {"type": "start", "id": "1", "payload": {"query": VIEWER}},
        ],
        until="error",
    )
    assert [m["type"] for m in closed.messages] == ["connection_ack", "error"], closed
    error = closed.messages[1]["payload"]
    assert error["message"] == "queries are not allowed"
    assert (error.get("extensions") or {}).get("code") != "INTERNAL_SERVER_ERROR"


# ---------------------------------------------------------------- anonymous


def anonymous_routes(world: World) -> list[tuple[Step, dict[str, object]]]:
    """Every scoped Query root field (node(id:) once per type), with real arguments."""
    return [(edge, root_arguments(edge, world)) for edge in all_edges() if edge.parent == "Query"]


def test_anonymous_scoped_fields_and_viewer_are_null_with_unauthenticated(stack: Stack, prepared: Prepared) -> None:
    client = stack.client()
    try:
        routes = anonymous_routes(prepared.world)
        assert routes
        for edge, arguments in routes:
            query, variables = render((edge,), {edge: arguments})
            response = client.post(query, variables)
            assert response.status_code == 200
            result = Result.of(response.json())
            assert result.data == {"viewer": None, edge.field: None}, (edge.label, result)
            assert sorted((e["path"], e["extensions"]["code"]) for e in result.errors) == sorted(
                [(["viewer"], "UNAUTHENTICATED"), ([edge.field], "UNAUTHENTICATED")]
            ), (edge.label, result.errors)
        # What needs no scope still answers.
        assert client.execute("{ __typename }").data == {"__typename": "Query"}
    finally:
        client.close()


async def test_anonymous_subscriptions_are_refused_with_unauthenticated(stack: Stack, prepared: Prepared) -> None:
    client = stack.client()
    subscriptions = [e for e in all_edges() if e.parent == "Subscription"]
    assert len(subscriptions) == len(scope_map().object_type("Subscription").fields)
    for edge in subscriptions:
        query, variables = render((edge,), {edge: root_arguments(edge, prepared.world)})
        results = await client.subscribe(query, variables)
        assert len(results) == 1, results
        assert results[0].codes() == ["UNAUTHENTICATED"], results
        assert results[0].errors[0]["path"] == [edge.field]


def test_bad_credential_never_downgrades_to_anonymous(stack: Stack, prepared: Prepared) -> None:
    """A typo in a credential is a 401, not an anonymous request that happens to work."""
    client = stack.client()
    try:
        response = client.post("{ __typename }", headers={"Authorization": "Bearer " + prepared.valid[:-1] + "x"})
    finally:
        client.close()
    assert response.status_code == 401


async def test_empty_authorization_in_connection_init_is_refused(stack: Stack, prepared: Prepared) -> None:
    """Present but empty is malformed, not absent (even with a good handshake header)."""
    closed = await exchange(
        stack.client().ws_url,
        TRANSPORT_WS,
        [{"type": "connection_init", "payload": {"authorization": ""}}],
        headers=bearer(prepared.valid),
    )
    assert closed.code == 4403, closed


@pytest.mark.parametrize("how", ["revoked", "expired"])
async def test_a_credential_that_stops_being_valid_ends_its_subscription(
    how: str, orm: Stack, prepared: Prepared
) -> None:
    """Checked again for each item (CONTRACT §5): the next event ends the stream with an error."""
    world = prepared.world
    running = await make_deployment(await Service.get(id=world.service_a), state="LEASED")
    token = await mint(["deploy:read"], role=Role.VIEWER)
    owner = orm.client(await mint(None))
    query = "subscription($id: ID!) { deploymentEvents(deploymentId: $id) { seq type } }"
    try:
        async with RawSocket(owner.ws_url, TRANSPORT_WS) as ws:
            await ws.send({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
            assert (await ws.receive())["type"] == "connection_ack"
            await ws.send({"type": "subscribe", "id": "1", "payload": {
                "query": query, "variables": {"id": gid("Deployment", running.id)}}})
            # The replay (CREATED, STATUS_CHANGED) arrived: the stream now waits for live events.
            for seq in (1, 2):
                message = await ws.receive()
                assert message["type"] == "next" and message["payload"]["data"]["deploymentEvents"]["seq"] == seq

            if how == "revoked":
                await revoke_api_token((await ApiToken.get(prefix=token[:14])).id)
            else:
                await expire_token(token[:14])
            canceled = await asyncio.to_thread(
                owner.execute,
                "mutation($id: ID!) { cancelDeployment(input: {deploymentId: $id}) { errors { code } } }",
                {"id": gid("Deployment", running.id)},
            )
            assert canceled.data["cancelDeployment"]["errors"] == [], canceled

            ended = await ws.receive()
            assert ended["type"] in ("next", "error"), ended
            errors = ended["payload"]["errors"] if ended["type"] == "next" else ended["payload"]
            assert [e["extensions"]["code"] for e in errors] == ["UNAUTHENTICATED"], ended
            if ended["type"] == "next":
                assert await ws.receive() == {"id": "1", "type": "complete"}
    finally:
        owner.close()


async def test_each_websocket_operation_reads_fresh_data(orm: Stack, prepared: Prepared) -> None:
    """Operations on one connection are separate requests: no cached rows (or scope decisions,
    or request ids) carry over from one to the next."""
    running = await make_deployment(await Service.get(id=prepared.world.service_a), state="LEASED")
    query = "query($id: ID!) { deployment(id: $id) { steps { kind status } service { name } } }"
    variables = {"id": gid("Deployment", running.id)}
    token = await mint(None)

    async def ask(ws: RawSocket, operation_id: str) -> dict[str, object]:
        await ws.send({"type": "subscribe", "id": operation_id, "payload": {"query": query, "variables": variables}})
        message = await ws.receive()
        assert message["type"] == "next" and "errors" not in message["payload"], message
        assert await ws.receive() == {"id": operation_id, "type": "complete"}
        data: dict[str, object] = message["payload"]["data"]["deployment"]
        return data

    async with RawSocket(orm.client().ws_url, TRANSPORT_WS) as ws:
        await ws.send({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        assert (await ws.receive())["type"] == "connection_ack"
        first = await ask(ws, "1")
        assert {"kind": "CLONE", "status": "PENDING"} in first["steps"]  # type: ignore[operator]

        await DeploymentStep.filter(deployment_id=running.id, kind="CLONE").update(status="RUNNING")
        await Service.filter(id=prepared.world.service_a).update(name="renamed-" + unique("svc"))
        second = await ask(ws, "2")
        assert {"kind": "CLONE", "status": "RUNNING"} in second["steps"]  # type: ignore[operator]
        assert second["service"] != first["service"]


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_a_revoked_credential_cannot_start_another_operation_on_an_open_socket(
    protocol: str, orm: Stack, prepared: Prepared
) -> None:
    """The connection outlives the check at connection_init: each new operation checks again."""
    token = await mint(["deploy:read"], role=Role.VIEWER)
    query = "subscription($id: ID!) { deploymentEvents(deploymentId: $id) { seq } }"
    variables = {"id": gid("Deployment", prepared.world.deployment_a1)}
    start = "subscribe" if protocol == TRANSPORT_WS else "start"
    async with RawSocket(orm.client().ws_url, protocol) as ws:
        await ws.send({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        assert (await ws.receive())["type"] == "connection_ack"
        await ws.send({"type": start, "id": "1", "payload": {"query": query, "variables": variables}})
        first = [await ws.receive() for _ in range(4)]  # a1: CREATED, STATUS_CHANGED, CONCLUDED, complete
        assert [m["type"] for m in first][-1] == "complete", first

        await revoke_api_token((await ApiToken.get(prefix=token[:14])).id)
        await ws.send({"type": start, "id": "2", "payload": {"query": query, "variables": variables}})
        if protocol == TRANSPORT_WS:
            closed = await ws.closed(silently=True)
            assert closed == 4403
        else:
            refused = await ws.receive()
            assert refused["type"] == "connection_error", refused
            assert await ws.closed(silently=True) is not None
