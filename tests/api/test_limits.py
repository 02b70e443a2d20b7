"""CONTRACT §6 limits, each exceeded against the real server and refused before execution."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from berth.models import ApiToken
from tests.conftest import Database
from tests.support.graphql import GraphQLClient
from tests.support.live_server import LiveServer, running_server, server_env


@pytest.fixture
def production_server(database: Database, tmp_path: Path) -> Iterator[LiveServer]:
    env = server_env(database.url, database.data_dir, BERTH_PRODUCTION="1")
    with running_server(tmp_path / "server.log", env) as server:
        yield server


def post(server: LiveServer, body: object) -> httpx.Response:
    with GraphQLClient(server.url) as client:
        return client.post_body(body)


def nested_query(depth: int) -> str:
    # service { project { services { project { … { id } } } } }: one level per hop.
    selection = "id"
    for name in reversed((["project", "services"] * depth)[:depth]):
        selection = f"{name} {{ {selection} }}"
    return '{ service(id: "x") { ' + selection + " } }"


def errors_of(response: httpx.Response) -> list[dict]:
    return response.json().get("errors") or []


def assert_refused_before_execution(response: httpx.Response, fragment: str) -> None:
    body = response.json()
    assert body.get("data") is None, body  # validation failed: nothing was executed
    assert any(fragment in e["message"] for e in body["errors"]), body


def test_depth_over_twelve_is_refused(live_server: LiveServer) -> None:
    assert_refused_before_execution(post(live_server, {"query": nested_query(14)}), "exceeds maximum operation depth")


def test_depth_within_limit_is_executed(live_server: LiveServer) -> None:
    body = post(live_server, {"query": nested_query(4)}).json()
    assert "data" in body and body["data"] is not None  # executed (the field resolves null: anonymous)


def test_more_than_thirty_aliases_are_refused(live_server: LiveServer) -> None:
    aliases = " ".join(f"a{i}: viewer {{ subject }}" for i in range(31))
    assert_refused_before_execution(post(live_server, {"query": "{ " + aliases + " }"}), "aliases")


def test_more_than_5000_tokens_are_refused(live_server: LiveServer) -> None:
    fields = " ".join("__typename" for _ in range(5001))
    response = post(live_server, {"query": "{ " + fields + " }"})
    assert response.json().get("data") is None
    assert any("token" in e["message"].lower() for e in errors_of(response))


def test_body_over_256_kib_is_refused(live_server: LiveServer) -> None:
    query = "{ __typename }" + " " * (257 * 1024)
    response = post(live_server, {"query": query})
    assert response.status_code == 413


def test_batching_is_off(live_server: LiveServer) -> None:
    response = post(live_server, [{"query": "{ __typename }"}, {"query": "{ __typename }"}])
    assert response.status_code == 400


async def test_mutations_are_never_served_over_get(live_server: LiveServer, db: Database) -> None:
    from berth.auth.api_tokens import create_api_token
    from berth.models.enums import Role
    from berth.schema.ids import to_global_id

    row, secret = await create_api_token("owner", Role.OWNER, None, [], None, "test", None)
    query = f'mutation {{ revokeApiToken(id: "{to_global_id("ApiToken", row.pk)}") {{ errors {{ code }} }} }}'
    with GraphQLClient(live_server.url, secret) as client:
        response = client.get(query)
    assert response.status_code in (400, 405)
    assert (await ApiToken.get(id=row.pk)).revoked_at is None


def test_introspection_is_on_by_default(live_server: LiveServer) -> None:
    body = post(live_server, {"query": "{ __schema { queryType { name } } }"}).json()
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


def test_production_turns_off_introspection_graphiql_and_suggestions(production_server: LiveServer) -> None:
    body = post(production_server, {"query": "{ __schema { queryType { name } } }"}).json()
    assert body.get("data") is None and body["errors"]
    page = httpx.get(production_server.url + "/graphql", headers={"accept": "text/html"}, timeout=10)
    assert "graphiql" not in page.text.lower()
    body = post(production_server, {"query": "{ viewr { subject } }"}).json()
    assert body["errors"] and all("Did you mean" not in e["message"] for e in body["errors"])


def test_graphiql_is_served_by_default(live_server: LiveServer) -> None:
    page = httpx.get(live_server.url + "/graphql", headers={"accept": "text/html"}, timeout=10)
    assert page.status_code == 200 and "graphiql" in page.text.lower()


def test_suggestions_are_on_by_default(live_server: LiveServer) -> None:
    body = post(live_server, {"query": "{ viewr { subject } }"}).json()
    assert any("Did you mean" in e["message"] for e in body["errors"])

