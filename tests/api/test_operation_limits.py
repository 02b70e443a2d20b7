"""Operation limits against the real server (docs/limits.md): the query cost limit refuses
the attack-shaped query before anything runs, the response size cap and the execution time
budget answer with coded errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from berth.auth.api_tokens import create_api_token
from berth.models import Project
from berth.models.enums import Role
from tests.conftest import Database
from tests.support.graphql import TRANSPORT_WS, GraphQLClient
from tests.support.live_server import LiveServer, running_server, server_env
from tests.support.websocket import RawSocket

sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

# The attack run: a page of deployments with their artifacts, each with its service's page of
# deployments with theirs, under aliases.
ATTACK = "{ " + " ".join(
    f"a{i}: deployments(first: 100) {{ nodes {{ id artifact service {{ deployments(first: 100) "
    f"{{ nodes {{ id artifact frozenInput }} }} }} }} }}"
    for i in range(10)
) + " }"
NORMAL = "query ($first: Int) { deployments(first: $first) { totalCount nodes { id number status } } }"
# Tens of kilobytes of JSON whatever the database holds, at a small cost.
LARGE = "{ __schema { types { name description fields { name description } } } }"


@pytest.fixture
def small_responses(database: Database, tmp_path: Path) -> Iterator[LiveServer]:
    env = server_env(database.url, database.data_dir, BERTH_MAX_RESPONSE_BYTES="5000")
    with running_server(tmp_path / "server.log", env) as live:
        yield live


@pytest.fixture
def no_time(database: Database, tmp_path: Path) -> Iterator[LiveServer]:
    # Any operation that waits for the database at all is over this budget.
    env = server_env(database.url, database.data_dir, BERTH_QUERY_TIMEOUT_SECONDS="0.000001")
    with running_server(tmp_path / "server.log", env) as live:
        yield live


def post(live: LiveServer, query: str, secret: str, variables: dict | None = None) -> dict:
    with GraphQLClient(live.url, secret, timeout=30) as client:
        return client.body(query, variables)


async def owner_token() -> str:
    _, secret = await create_api_token("owner", Role.OWNER, None, [], None, "test", None)
    return secret


@sqlite_only
async def test_the_attack_shaped_query_is_refused_before_execution_and_a_normal_one_runs(
    live_server: LiveServer, db: Database
) -> None:
    secret = await owner_token()
    body = post(live_server, ATTACK, secret)
    assert body.get("data") is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["cost"] > error["extensions"]["limit"] == 100_000
    assert "complex" in error["message"]

    body = post(live_server, NORMAL, secret, {"first": 100})
    assert "errors" not in body, body
    assert body["data"]["deployments"]["totalCount"] == 0


@sqlite_only
async def test_a_mutation_over_the_cost_limit_has_no_side_effect(live_server: LiveServer, db: Database) -> None:
    secret = await owner_token()
    heavy = "services { deployments(first: 100) { nodes { artifact service { deployments(first: 100) " \
            "{ nodes { artifact } } } } } }"
    query = 'mutation { createProject(input: {name: "too-costly"}) { project { id ' + heavy + " } } }"
    body = post(live_server, query, secret)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX", body
    assert not await Project.filter(name="too-costly").exists()


@sqlite_only
async def test_a_response_over_the_cap_is_replaced_by_a_coded_error(
    small_responses: LiveServer, db: Database
) -> None:
    secret = await owner_token()
    body = post(small_responses, LARGE, secret)
    assert body.get("data") is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "RESPONSE_TOO_LARGE"
    assert error["extensions"]["size"] > error["extensions"]["limit"] == 5000
    assert "errors" not in post(small_responses, NORMAL, secret)


async def test_a_query_over_the_time_budget_is_stopped_with_a_coded_error(
    no_time: LiveServer, db: Database
) -> None:
    secret = await owner_token()
    for _ in range(3):
        body = post(no_time, NORMAL, secret)
        assert body.get("data") is None, body
        [error] = body["errors"]
        assert error["extensions"]["code"] == "QUERY_TIMEOUT"
    # The same budget for a query over a WebSocket.
    async with RawSocket(no_time.ws_url, TRANSPORT_WS) as socket:
        await socket.init(secret)
        await socket.subscribe("q", NORMAL)
        reply = await socket.recv_type("next", timeout=10)
        assert reply is not None and reply["payload"]["errors"][0]["extensions"]["code"] == "QUERY_TIMEOUT"
    # The database connection the cancelled queries used is still usable.
    assert httpx.get(no_time.url + "/readyz", timeout=10).status_code == 200
    # A mutation is never stopped half-way: it completes (docs/limits.md).
    query = 'mutation { createProject(input: {name: "in-time"}) { project { id } } }'
    assert post(no_time, query, secret)["data"]["createProject"]["project"]["id"]
    assert httpx.get(no_time.url + "/readyz", timeout=10).status_code == 200
