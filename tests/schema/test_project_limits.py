"""A credential limited to projects sees those projects only (CONTRACT §2): other projects'
objects are null in queries and NOT_FOUND in mutations and subscriptions, never their data."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from berth.auth.scopes import SCOPE_NAMES
from berth.models import ApiToken, Server, Service
from berth.models.enums import PreviewStatus, Role
from berth.models.git import PreviewEnvironment
from tests.schema.conftest import Stack
from tests.schema.world import World, gid, make_preview, mint, snapshot
from tests.support.graphql import GraphQLClient

ALL = sorted(SCOPE_NAMES)


@dataclass
class Limited:
    world: World
    # Owner role, every scope, limited to project A.
    token: str
    # The same, as an OAuth access token.
    jwt: str
    # An unlimited token and one limited to project B, for the token-management checks.
    unlimited_token_id: int
    b_token_id: int
    a_token_id: int


@pytest.fixture(scope="module")
def limited(stack: Stack) -> Limited:
    world = stack.seeded()

    async def make() -> Limited:
        token = await mint(ALL, project_ids=[world.project_a])
        await mint(["deploy:read"], role=Role.VIEWER, name="unlimited")
        await mint(["deploy:read"], role=Role.VIEWER, project_ids=[world.project_b], name="of-b")
        await mint(["deploy:read"], role=Role.VIEWER, project_ids=[world.project_a], name="of-a")
        ids = {row.name: row.id for row in await ApiToken.filter(name__in=["unlimited", "of-b", "of-a"])}
        jwt = stack.jwt(berth_role="owner", scope=" ".join(ALL), berth_projects=[world.project_a], sub="limited")
        return Limited(world, token, jwt, ids["unlimited"], ids["of-b"], ids["of-a"])

    return stack.run(make)


@pytest.fixture(params=["api-token", "jwt"])
def client(request: pytest.FixtureRequest, stack: Stack, limited: Limited) -> GraphQLClient:
    token = limited.token if request.param == "api-token" else limited.jwt
    c = stack.client(token)
    request.addfinalizer(c.close)
    return c


def test_lists_hold_only_the_allowed_projects(client: GraphQLClient, limited: Limited) -> None:
    w = limited.world
    result = client.execute(
        "{ projects { id services { id } } deployments(first: 100) { totalCount nodes { id project { id } } } }"
    )
    assert not result.errors, result.errors
    assert [p["id"] for p in result.data["projects"]] == [gid("Project", w.project_a)]
    assert [s["id"] for s in result.data["projects"][0]["services"]] == [gid("Service", w.service_a)]
    nodes = result.data["deployments"]["nodes"]
    assert nodes and {n["project"]["id"] for n in nodes} == {gid("Project", w.project_a)}
    assert gid("Deployment", w.deployment_b1) not in {n["id"] for n in nodes}
    assert result.data["deployments"]["totalCount"] == len(nodes)
    filtered = client.execute(
        "query($p: ID!) { deployments(filter: {projectId: $p}) { totalCount nodes { id } } }",
        {"p": gid("Project", w.project_b)},
    )
    assert not filtered.errors and filtered.data["deployments"] == {"totalCount": 0, "nodes": []}


def test_servers_belong_to_no_project(client: GraphQLClient, stack: Stack, limited: Limited) -> None:
    async def all_servers() -> list[str]:
        return [gid("Server", s.id) for s in await Server.all().order_by("id")]

    result = client.execute("{ servers { id } }")
    assert not result.errors
    assert [s["id"] for s in result.data["servers"]] == stack.run(all_servers)


OTHER_PROJECT_OBJECTS = [
    ("Project", "project"),
    ("Environment", "environment"),
    ("Service", "service"),
    ("Deployment", "deployment"),
]


@pytest.mark.parametrize(("type_name", "attribute"), OTHER_PROJECT_OBJECTS)
def test_node_of_another_project_is_null(
    type_name: str, attribute: str, client: GraphQLClient, limited: Limited
) -> None:
    w = limited.world
    query = "query($id: ID!) { node(id: $id) { __typename id } }"
    other_pk = getattr(w, f"{attribute}_b" if attribute != "deployment" else "deployment_b1")
    other = client.execute(query, {"id": gid(type_name, other_pk)})
    assert other.data == {"node": None} and not other.errors, other
    own_pk = getattr(w, f"{attribute}_a" if attribute != "deployment" else "deployment_a2")
    own = client.execute(query, {"id": gid(type_name, own_pk)})
    assert own.data == {"node": {"__typename": type_name, "id": gid(type_name, own_pk)}}, own


def test_deployment_and_service_of_another_project_are_null(client: GraphQLClient, limited: Limited) -> None:
    w = limited.world
    query = "query($d: ID!, $s: ID!) { deployment(id: $d) { id } service(id: $s) { id } }"
    other = client.execute(query, {"d": gid("Deployment", w.deployment_b1), "s": gid("Service", w.service_b)})
    assert other.data == {"deployment": None, "service": None} and not other.errors, other
    own = client.execute(query, {"d": gid("Deployment", w.deployment_a1), "s": gid("Service", w.service_a)})
    assert own.data == {
        "deployment": {"id": gid("Deployment", w.deployment_a1)},
        "service": {"id": gid("Service", w.service_a)},
    }


def test_viewer_shows_the_limit(client: GraphQLClient, limited: Limited) -> None:
    result = client.execute("{ viewer { projectIds scopes } }")
    assert result.data["viewer"] == {"projectIds": [gid("Project", limited.world.project_a)], "scopes": ALL}


# Mutation → (its input type, an input naming project B's objects).
MUTATIONS_ON_B: dict[str, tuple[str, Callable[[World], dict[str, Any]]]] = {
    "startDeployment": ("StartDeploymentInput", lambda w: {"serviceId": gid("Service", w.service_b)}),
    "cancelDeployment": ("CancelDeploymentInput", lambda w: {"deploymentId": gid("Deployment", w.deployment_b1)}),
    "rollbackDeployment": ("RollbackDeploymentInput", lambda w: {
        "serviceId": gid("Service", w.service_b), "toDeploymentId": gid("Deployment", w.deployment_b1)}),
    "updateService": ("UpdateServiceInput", lambda w: {"serviceId": gid("Service", w.service_b), "autoRollback": False}),
    "updateEnvironment": ("UpdateEnvironmentInput", lambda w: {
        "environmentId": gid("Environment", w.environment_b), "requiredApprovals": 2}),
    "approveDeployment": ("DecideDeploymentInput", lambda w: {"deploymentId": gid("Deployment", w.deployment_b1)}),
    "rejectDeployment": ("DecideDeploymentInput", lambda w: {
        "deploymentId": gid("Deployment", w.deployment_b1), "comment": "not yours"}),
    "createService": ("CreateServiceInput", lambda w: {
        "projectId": gid("Project", w.project_b), "environment": "production", "name": "intruder",
        "serverId": gid("Server", w.server), "source": {"type": "IMAGE", "image": "nginx:alpine"},
    }),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS_ON_B))
async def test_mutations_on_another_project_are_not_found(
    mutation: str, orm: Stack, limited: Limited
) -> None:
    input_type, make_input = MUTATIONS_ON_B[mutation]
    before = await snapshot()
    client = orm.client(limited.token)
    try:
        result = await asyncio.to_thread(
            client.execute,
            f"mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ errors {{ code field }} }} }}",
            {"input": make_input(limited.world)},
        )
    finally:
        client.close()
    assert not result.errors, result.errors
    errors = result.data[mutation]["errors"]
    assert [e["code"] for e in errors] == ["NOT_FOUND"], errors
    assert await snapshot() == before


@pytest.mark.parametrize("mutation", ["createServer", "createProject"])
async def test_creating_servers_and_projects_needs_an_unlimited_credential(
    mutation: str, orm: Stack, limited: Limited
) -> None:
    variables = (
        {"input": {"name": "limited-srv", "dockerHost": "tcp://127.0.0.1:9"}}
        if mutation == "createServer"
        else {"input": {"name": "limited-proj"}}
    )
    input_type = "CreateServerInput" if mutation == "createServer" else "CreateProjectInput"
    before = await snapshot()
    client = orm.client(limited.token)
    try:
        result = await asyncio.to_thread(
            client.execute,
            f"mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ errors {{ code }} }} }}",
            variables,
        )
    finally:
        client.close()
    payload = result.data[mutation] if result.data else None
    refused = bool(result.errors) or bool(payload and payload["errors"])
    assert refused, result
    assert await snapshot() == before


@pytest.mark.parametrize("subscription", ["deploymentEvents", "deploymentLogs", "deploymentLogBatches"])
async def test_subscriptions_to_another_projects_deployment_are_not_found(
    subscription: str, stack: Stack, limited: Limited
) -> None:
    client = stack.client(limited.token)
    field = {"deploymentEvents": "seq", "deploymentLogs": "seq text",
             "deploymentLogBatches": "lastSeq lines { seq text }"}[subscription]
    query = f"subscription($id: ID!) {{ {subscription}(deploymentId: $id) {{ {field} }} }}"
    other = await client.subscribe(query, {"id": gid("Deployment", limited.world.deployment_b1)})
    assert len(other) == 1 and other[0].codes() == ["NOT_FOUND"], other
    own = await client.subscribe(query, {"id": gid("Deployment", limited.world.deployment_a1)})
    assert own and all(not r.errors for r in own), own


async def test_feed_of_another_project_is_not_found(stack: Stack, limited: Limited) -> None:
    client = stack.client(limited.token)
    results = await client.subscribe(
        "subscription($p: ID) { deploymentFeed(projectId: $p) { seq } }",
        {"p": gid("Project", limited.world.project_b)},
    )
    assert len(results) == 1 and results[0].codes() == ["NOT_FOUND"], results


def test_api_tokens_of_other_projects_are_invisible(client: GraphQLClient, limited: Limited) -> None:
    listed = client.execute("{ apiTokens { id projectIds } }")
    assert not listed.errors, listed.errors
    ids = {t["id"] for t in listed.data["apiTokens"]}
    assert gid("ApiToken", limited.a_token_id) in ids
    assert gid("ApiToken", limited.unlimited_token_id) not in ids
    assert gid("ApiToken", limited.b_token_id) not in ids
    assert all(t["projectIds"] == [gid("Project", limited.world.project_a)] for t in listed.data["apiTokens"])
    for pk in (limited.unlimited_token_id, limited.b_token_id):
        node = client.execute("query($id: ID!) { node(id: $id) { id } }", {"id": gid("ApiToken", pk)})
        assert node.data == {"node": None} and not node.errors


async def test_revoking_a_token_of_another_project_is_not_found(orm: Stack, limited: Limited) -> None:
    client = orm.client(limited.token)
    try:
        for pk in (limited.unlimited_token_id, limited.b_token_id):
            result = await asyncio.to_thread(
                client.execute,
                "mutation($id: ID!) { revokeApiToken(id: $id) { errors { code } apiToken { id } } }",
                {"id": gid("ApiToken", pk)},
            )
            assert result.data["revokeApiToken"] == {"errors": [{"code": "NOT_FOUND"}], "apiToken": None}
            assert (await ApiToken.get(id=pk)).revoked_at is None
    finally:
        client.close()



async def test_previews_of_another_project_are_invisible_and_cannot_be_closed(orm: Stack, limited: Limited) -> None:
    other = await make_preview(await Service.get(id=limited.world.service_b))
    client = orm.client(limited.token)
    try:
        node = await asyncio.to_thread(client.execute, "query($id: ID!) { node(id: $id) { id } }",
                                       {"id": gid("PreviewEnvironment", other.id)})
        assert node.data == {"node": None} and not node.errors
        result = await asyncio.to_thread(
            client.execute, "mutation($id: ID!) { closePreview(id: $id) { errors { code } preview { id } } }",
            {"id": gid("PreviewEnvironment", other.id)})
        assert result.data["closePreview"] == {"errors": [{"code": "NOT_FOUND"}], "preview": None}
        assert (await PreviewEnvironment.get(id=other.id)).status is PreviewStatus.ACTIVE
        own = await asyncio.to_thread(client.execute, "query($id: ID!) { node(id: $id) { id } }",
                                      {"id": gid("PreviewEnvironment", limited.world.preview)})
        assert own.data == {"node": {"id": gid("PreviewEnvironment", limited.world.preview)}}
    finally:
        client.close()
