"""API tokens through the API (CONTRACT §2): no escalation, the secret shown once and stored
nowhere, revocation effective at once; and `viewer` for both kinds of credential."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tortoise import connections

from berth.auth.scopes import ROLE_SCOPES
from berth.models import ApiToken
from berth.models.enums import Role
from tests.schema.conftest import Stack
from tests.schema.world import World, gid, mint
from tests.services import skip_or_fail
from tests.support.graphql import TRANSPORT_WS
from tests.support.names import unique
from tests.support.websocket import exchange

CREATOR_SCOPES = ["deploy:read", "deploy:start", "service:read", "tokens:manage"]

CREATE = """
mutation($input: CreateApiTokenInput!) {
  createApiToken(input: $input) {
    token
    apiToken { id name prefix role scopes projectIds createdAt expiresAt lastUsedAt revokedAt createdBy }
    errors { code message field }
  }
}
"""
LIST = "{ apiTokens { id name prefix role scopes projectIds createdAt expiresAt lastUsedAt revokedAt createdBy } }"
REVOKE = "mutation($id: ID!) { revokeApiToken(id: $id) { apiToken { id revokedAt } errors { code } } }"
VIEWER = "{ viewer { subject email role tokenKind scopes projectIds } }"


@dataclass
class Creators:
    world: World
    # An admin token limited to project A, with a few scopes.
    admin: str
    admin_subject: str


@pytest.fixture(scope="module")
def creators(stack: Stack) -> Creators:
    world = stack.seeded()

    async def make() -> Creators:
        admin = await mint(CREATOR_SCOPES, role=Role.ADMIN, project_ids=[world.project_a], name="creator")
        row = await ApiToken.get(prefix=admin[:14])
        return Creators(world, admin, f"token:{row.id}")

    return stack.run(make)


async def token_rows() -> int:
    return await ApiToken.all().count()


# Inputs above the creator's limits (admin, a few scopes, project A) → the input field the
# error names.
ESCALATIONS: dict[str, tuple[Callable[[World], dict[str, Any]], str]] = {
    "role-above-creator": (lambda w: {"role": "OWNER", "scopes": ["deploy:read"]}, "role"),
    "scope-the-creator-lacks": (lambda w: {"role": "OPERATOR", "scopes": ["service:write"]}, "scopes"),
    "scope-outside-the-role": (lambda w: {"role": "VIEWER", "scopes": ["deploy:start"]}, "scopes"),
    "unknown-scope": (lambda w: {"role": "VIEWER", "scopes": ["everything"]}, "scopes"),
    "project-outside-creator": (
        lambda w: {"role": "VIEWER", "scopes": ["deploy:read"], "projectIds": [gid("Project", w.project_b)]},
        "projectIds",
    ),
    "projects-beyond-creator": (
        lambda w: {
            "role": "VIEWER",
            "scopes": ["deploy:read"],
            "projectIds": [gid("Project", w.project_a), gid("Project", w.project_b)],
        },
        "projectIds",
    ),
}


@pytest.mark.parametrize("case", sorted(ESCALATIONS))
@pytest.mark.parametrize("creator", ["api-token", "jwt"])
async def test_create_api_token_cannot_escalate(case: str, creator: str, orm: Stack, creators: Creators) -> None:
    make_fields, field = ESCALATIONS[case]
    fields = make_fields(creators.world)
    token = creators.admin if creator == "api-token" else orm.jwt(
        berth_role="admin",
        scope=" ".join(CREATOR_SCOPES),
        berth_projects=[creators.world.project_a],
    )
    before = await token_rows()
    client = orm.client(token)
    try:
        result = await asyncio.to_thread(client.execute, CREATE, {"input": {"name": unique("esc"), **fields}})
    finally:
        client.close()
    assert not result.errors, result.errors
    payload = result.data["createApiToken"]
    assert payload["token"] is None and payload["apiToken"] is None, payload
    assert len(payload["errors"]) == 1, payload
    assert payload["errors"][0]["field"] == ["input", field], payload
    assert payload["errors"][0]["code"] in ("INVALID_INPUT", "NOT_FOUND"), payload
    assert await token_rows() == before


async def test_create_within_limits_shows_the_secret_once_and_revocation_is_immediate(
    orm: Stack, creators: Creators
) -> None:
    w = creators.world
    name = unique("agent")
    client = orm.client(creators.admin)
    try:
        created = await asyncio.to_thread(
            client.execute,
            CREATE,
            {"input": {"name": name, "role": "VIEWER", "scopes": ["deploy:read"],
                       "projectIds": [gid("Project", w.project_a)], "expiresInDays": 7}},
        )
        assert not created.errors, created.errors
        payload = created.data["createApiToken"]
        assert payload["errors"] == []
        secret = payload["token"]
        assert secret.startswith("berth_pat_") and len(secret) >= len("berth_pat_") + 43
        token = payload["apiToken"]
        row = await ApiToken.get(name=name)
        assert token["id"] == gid("ApiToken", row.id)
        assert token["prefix"] == secret[: len(token["prefix"])] and len(token["prefix"]) < len(secret) // 2
        assert (token["name"], token["role"], token["scopes"]) == (name, "VIEWER", ["deploy:read"])
        assert token["projectIds"] == [gid("Project", w.project_a)]
        assert token["createdBy"] == creators.admin_subject
        assert token["revokedAt"] is None and token["lastUsedAt"] is None
        expires = datetime.fromisoformat(token["expiresAt"])
        assert abs(expires - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=5)

        # Listed (and reachable by id) without the secret.
        listing = await asyncio.to_thread(client.post, LIST)
        assert listing.status_code == 200
        assert token["id"] in {t["id"] for t in listing.json()["data"]["apiTokens"]}
        node = await asyncio.to_thread(
            client.post, "query($id: ID!) { node(id: $id) { ... on ApiToken { id prefix } } }", {"id": token["id"]}
        )
        assert node.json()["data"]["node"]["id"] == token["id"]
        for response in (listing, node):
            assert secret not in response.text and secret[len(token["prefix"]):] not in response.text

        # The new token works, with what was granted.
        new_client = orm.client(secret)
        try:
            viewer = await asyncio.to_thread(new_client.execute, VIEWER)
            assert viewer.data["viewer"]["subject"] == f"token:{row.id}"
            assert viewer.data["viewer"]["scopes"] == ["deploy:read"]

            revoked = await asyncio.to_thread(client.execute, REVOKE, {"id": token["id"]})
            assert revoked.data["revokeApiToken"]["errors"] == []
            assert revoked.data["revokeApiToken"]["apiToken"]["revokedAt"]

            after = await asyncio.to_thread(new_client.post, VIEWER)
            assert after.status_code == 401
            assert after.headers["www-authenticate"] == 'Bearer realm="berth", error="invalid_token"'
            assert after.json()["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
        finally:
            new_client.close()
        closed = await exchange(
            client.ws_url, TRANSPORT_WS, [{"type": "connection_init", "payload": {"authorization": f"Bearer {secret}"}}]
        )
        assert closed.code == 4403
    finally:
        client.close()


async def test_default_scopes_are_the_roles_the_creator_holds(orm: Stack, creators: Creators) -> None:
    client = orm.client(creators.admin)
    try:
        created = await asyncio.to_thread(client.execute, CREATE, {"input": {"name": unique("dflt"), "role": "AGENT"}})
    finally:
        client.close()
    payload = created.data["createApiToken"]
    assert payload["errors"] == [], payload
    expected = sorted(set(ROLE_SCOPES[Role.AGENT]) & set(CREATOR_SCOPES))
    assert payload["apiToken"]["scopes"] == expected
    # No project list from a limited creator means the creator's own projects, not all.
    assert payload["apiToken"]["projectIds"] == [gid("Project", creators.world.project_a)]


def _raw_values(rows: list[dict[str, Any]]) -> list[str]:
    return [str(value) for row in rows for value in row.values()]


def _database_bytes(stack: Stack) -> bytes:
    if stack.dialect == "sqlite":
        path = Path(stack.url.removeprefix("sqlite://"))
        files = [path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-journal", "-shm"))]
        return b"".join(f.read_bytes() for f in files if f.exists())
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        skip_or_fail("pg_dump is not installed")
    dump = subprocess.run(
        [pg_dump, "--data-only", "postgresql://" + stack.url.split("://", 1)[1]],
        capture_output=True,
        timeout=60,
        check=True,
    )
    return dump.stdout


async def test_the_database_holds_no_api_token_secret(orm: Stack, creators: Creators) -> None:
    client = orm.client(creators.admin)
    try:
        created = await asyncio.to_thread(
            client.execute, CREATE, {"input": {"name": unique("stored"), "role": "VIEWER", "scopes": ["deploy:read"]}}
        )
    finally:
        client.close()
    secrets = [created.data["createApiToken"]["token"], creators.admin, await mint(["deploy:read"], role=Role.VIEWER)]
    assert all(s and s.startswith("berth_pat_") for s in secrets)
    # Let the server use one, so a lastUsedAt write happened too.
    user = orm.client(secrets[2])
    try:
        assert (await asyncio.to_thread(user.execute, VIEWER)).data["viewer"]
    finally:
        user.close()

    rows = await connections.get("default").execute_query_dict("SELECT * FROM api_token")
    assert len(rows) == await ApiToken.all().count() >= 3
    values = _raw_values(rows)
    stored = await asyncio.to_thread(_database_bytes, orm)
    assert stored
    for secret in secrets:
        hidden = secret[len("berth_pat_") + 4 :]  # what the display prefix does not show
        assert not any(secret in v or hidden in v for v in values)
        assert hidden.encode() not in stored
        # Nor in what the server logged.
        assert hidden not in orm.server.log()


@pytest.mark.parametrize("kind", ["jwt", "api-token"])
async def test_viewer_describes_the_credential(kind: str, orm: Stack, creators: Creators) -> None:
    w = creators.world
    if kind == "jwt":
        token = orm.jwt(
            sub="ada", email="ada@example.test", berth_role="developer",
            scope="deploy:read deploy:start server:write logs:read", berth_projects=[w.project_b],
        )
        expected = {
            "subject": "ada", "email": "ada@example.test", "role": "DEVELOPER", "tokenKind": "JWT",
            # server:write is not a developer's: the role bounds the claim.
            "scopes": ["deploy:read", "deploy:start", "logs:read"],
            "projectIds": [gid("Project", w.project_b)],
        }
    else:
        token = await mint(["deploy:read", "service:write", "logs:read"], role=Role.OPERATOR,
                           project_ids=[w.project_b], name="viewer-check")
        row = await ApiToken.get(prefix=token[:14])
        expected = {
            "subject": f"token:{row.id}", "email": None, "role": "OPERATOR", "tokenKind": "API_TOKEN",
            "scopes": ["deploy:read", "logs:read", "service:write"],
            "projectIds": [gid("Project", w.project_b)],
        }
    client = orm.client(token)
    try:
        result = await asyncio.to_thread(client.execute, VIEWER)
    finally:
        client.close()
    assert not result.errors, result.errors
    assert result.data["viewer"] == expected


@pytest.mark.parametrize("claims", [{"berth_role": None}, {"scope": None}, {"berth_role": "superuser"}])
def test_jwt_without_role_or_scope_has_no_scopes(claims: dict[str, Any], stack: Stack) -> None:
    client = stack.client(stack.jwt(**claims))
    try:
        result = client.execute("{ viewer { scopes } servers { id } }")
    finally:
        client.close()
    assert result.data["viewer"] == {"scopes": []}
    assert result.data["servers"] is None
    assert result.errors[0]["extensions"]["code"] == "FORBIDDEN"


NODE = "query($id: ID!) { node(id: $id) { ... on ApiToken { id role } } }"


async def test_a_principal_manages_only_tokens_of_roles_at_or_below_its_own(orm: Stack) -> None:
    """An admin neither lists, looks up, revokes nor creates owner tokens; an owner does all four."""
    owner_secret = await mint(None, role=Role.OWNER, name=unique("owner"))
    owner_row = await ApiToken.get(prefix=owner_secret[:14])
    admin_secret = await mint(None, role=Role.ADMIN, name=unique("admin"))
    agent_secret = await mint(None, role=Role.AGENT, name=unique("agent"))
    agent_row = await ApiToken.get(prefix=agent_secret[:14])
    owner_id, agent_id = gid("ApiToken", owner_row.id), gid("ApiToken", agent_row.id)

    admin = orm.client(admin_secret)
    owner = orm.client(owner_secret)
    try:
        listed = await asyncio.to_thread(admin.execute, LIST)
        ids = {t["id"] for t in listed.data["apiTokens"]}
        assert agent_id in ids and owner_id not in ids
        assert all(t["role"] != "OWNER" for t in listed.data["apiTokens"])
        looked_up = await asyncio.to_thread(admin.execute, NODE, {"id": owner_id})
        assert looked_up.data["node"] is None
        refused = await asyncio.to_thread(admin.execute, REVOKE, {"id": owner_id})
        assert refused.data["revokeApiToken"] == {"apiToken": None, "errors": [{"code": "NOT_FOUND"}]}
        assert (await ApiToken.get(id=owner_row.id)).revoked_at is None
        created = await asyncio.to_thread(
            admin.execute, CREATE, {"input": {"name": unique("up"), "role": "OWNER"}}
        )
        assert created.data["createApiToken"]["errors"][0]["field"] == ["input", "role"]

        # Below its own role the admin manages: the agent token is visible and revocable.
        assert (await asyncio.to_thread(admin.execute, NODE, {"id": agent_id})).data["node"]["id"] == agent_id
        revoked = await asyncio.to_thread(admin.execute, REVOKE, {"id": agent_id})
        assert revoked.data["revokeApiToken"]["errors"] == []

        # The owner sees and manages the owner token.
        by_owner = await asyncio.to_thread(owner.execute, LIST)
        assert owner_id in {t["id"] for t in by_owner.data["apiTokens"]}
        assert (await asyncio.to_thread(owner.execute, NODE, {"id": owner_id})).data["node"][
            "role"
        ] == "OWNER"
    finally:
        admin.close()
        owner.close()
