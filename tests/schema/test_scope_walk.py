"""Every `@requiresScopes` of the printed schema, enforced on every route to it (CONTRACT §2).

For each scoped edge found by `walk.py` in the server's own SDL:
- a credential missing one required scope gets `FORBIDDEN` with `requiredScopes` and
  exactly that `missingScopes` on that field path (or, where every route needs that scope
  before the edge, on the first edge of the route that needs it), the value there is null,
  and the rest of the response still resolves;
- a credential holding exactly the route's scopes gets no error and real data.

Queries go over HTTP, subscriptions over WebSocket (graphql-transport-ws), mutations over
HTTP with inputs that are refused by the resolver (so a run never changes anything).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from berth.auth.scopes import SCOPE_NAMES
from berth.models import Service
from tests.schema.conftest import Stack
from tests.schema.walk import (
    ROOTS,
    Route,
    ScopeMap,
    Step,
    all_edges,
    cases_for,
    field_path,
    render,
    scope_map,
)
from tests.schema.world import World, gid, make_deployment, root_arguments
from tests.support.graphql import GraphQLClient, Result

EDGES = all_edges()
ALL = frozenset(SCOPE_NAMES)


def needs_live_event(route: Route, refused_at_root: bool) -> bool:
    # deploymentFeed sends only events made after it started: something must happen
    # (unless the subscription itself is refused).
    return route[0] == Step("Subscription", "deploymentFeed") and not refused_at_root


# ---------------------------------------------------------------- response inspection


def strip_indices(path: list[str | int]) -> list[str]:
    return [p for p in path if isinstance(p, str)]


def at_path(data: Any, path: list[str | int]) -> Any:
    for key in path:
        data = data[key]
    return data


def values_along(data: Any, names: list[str]) -> Iterator[Any]:
    """Every value reached by following `names`, descending into lists."""
    if isinstance(data, list):
        for item in data:
            yield from values_along(item, names)
        return
    if not names:
        yield data
        return
    if data is None:
        return
    yield from values_along(data.get(names[0]), names[1:])


def check_denial(result: Result, route: Route, at: int, dropped: str) -> None:
    m = scope_map()
    expected_path = field_path(route, at)
    required = sorted(m.required(route[at]))
    assert result.errors, f"no error for a credential without {dropped}: {result.data}"
    for error in result.errors:
        extensions = error.get("extensions") or {}
        assert extensions.get("code") == "FORBIDDEN", error
        assert extensions.get("requiredScopes") == required, error
        assert extensions.get("missingScopes") == [dropped], error
        path = error.get("path") or []
        assert strip_indices(path) == expected_path, error
        if result.kind == "error":
            continue  # refused before execution: there is no data
        assert result.data is not None
        # The field is null; the object holding it resolved (its other fields are there).
        assert at_path(result.data, path) is None
        if len(path) > 1:
            parent = at_path(result.data, path[:-1])
            assert isinstance(parent, dict) and parent.get("__typename"), (path, result.data)
    if route[0].parent == "Query":
        assert result.data["viewer"]["subject"], "a sibling field did not resolve"


# Routes that cannot reach data by design. A plan is of the service itself: it supersedes
# only the service's own lane, never a preview's deployments.
NO_DATA_BY_DESIGN = {("Query.planDeployment", "DeploymentPlan.wouldSupersede", "Deployment.preview")}


def check_grant(result: Result, route: Route) -> None:
    assert result.kind == "next" and not result.errors, result.errors
    if tuple(step.label for step in route) in NO_DATA_BY_DESIGN:
        return
    if route[0].parent == "Mutation":
        # The refused input: the payload's errors say why, the edge resolved (to null).
        payload = result.data[route[0].field]
        assert payload["errors"], payload
        return
    found = [v for v in values_along(result.data, field_path(route, len(route) - 1)) if v is not None]
    assert found, f"{' > '.join(s.label for s in route)} resolved to no data: {result.data}"


# ---------------------------------------------------------------- running routes


async def run_route(
    stack: Stack,
    route: Route,
    token: str,
    world: World,
    owner: str,
    feed_writes: asyncio.Lock,
    refused_at_root: bool = False,
) -> list[Result]:
    arguments = {route[0]: root_arguments(route[0], world)}
    query, variables = render(route, arguments)
    client = stack.client(token)
    try:
        if route[0].parent != "Subscription":
            return [await asyncio.to_thread(client.execute, query, variables)]
        if not needs_live_event(route, refused_at_root):
            results = await client.subscribe(query, variables)
            assert results, "the subscription completed without a result"
            return results
        # One feed route at a time: its writes (here, then the server's cancel) must not
        # overlap another's, as two processes writing one SQLite file would (Berth never does).
        async with feed_writes:
            return await feed_with_event(stack, client, query, variables, world, owner)
    finally:
        client.close()


async def feed_with_event(
    stack: Stack, client: GraphQLClient, query: str, variables: dict[str, Any], world: World, owner: str
) -> list[Result]:
    """Subscribe to the feed, then make events happen (a running deployment canceled through
    the API, which the server's own commit announces) until the first one arrives."""
    listening = asyncio.create_task(client.subscribe(query, variables, limit=1))
    owner_client = stack.client(owner)
    service = await Service.get(id=world.service_a)
    deadline = time.monotonic() + 15
    try:
        while not listening.done():
            assert time.monotonic() < deadline, "no feed event arrived"
            running = await make_deployment(service, state="LEASED", rollback_of_id=world.deployment_a1,
                                            preview_id=world.preview)
            canceled = await asyncio.to_thread(
                owner_client.execute,
                "mutation($id: ID!) { cancelDeployment(input: {deploymentId: $id}) { errors { code } } }",
                {"id": gid("Deployment", running.id)},
            )
            assert not canceled.errors and not canceled.data["cancelDeployment"]["errors"], canceled
            await asyncio.wait({listening}, timeout=0.2)
        return listening.result()
    finally:
        listening.cancel()
        owner_client.close()


@pytest.fixture(scope="module")
def walk(stack: Stack) -> tuple[World, dict[frozenset[str], str]]:
    """The data and one token per scope set any case needs, made once per module."""
    world = stack.seeded()
    needed = {ALL} | {ALL - {s} for s in ALL}
    for edge in EDGES:
        needed |= {grant.scopes for grant in cases_for(edge).grants}
    return world, stack.tokens(needed)


def test_the_walk_reads_the_directives_from_the_schema() -> None:
    """The walk sees what the contract declares, so an empty walk cannot pass silently."""
    m = scope_map()
    assert m.type_scopes["Deployment"] == {"deploy:read"}
    assert m.type_scopes["Server"] == {"server:read"}
    assert m.required(Step("Deployment", "logs")) == {"logs:read"}
    assert m.required(Step("Service", "server")) == {"server:read"}
    assert m.required(Step("Query", "node", on="ApiToken")) == {"tokens:manage"}
    labels = {e.label for e in EDGES}
    for root in ROOTS:
        for name, _field in m.object_type(root).fields.items():
            if root == "Query" and name in ("node", "viewer"):
                continue
            assert f"{root}.{name}" in labels, f"{root}.{name} carries no scope"
    # The edges the contract makes nullable so one scope costs one edge are tested on their own.
    independent = {e.label for e in EDGES if not cases_for(e).implied and e.parent not in ROOTS}
    assert {
        "Service.server",
        "Service.deployments",
        "Service.latestDeployment",
        "Service.lastObservedState",
        "Deployment.service",
        "Deployment.project",
        "Deployment.environment",
        "Deployment.server",
        "Deployment.logs",
        "ServerPayload.server",
        "StartDeploymentPayload.deployment",
    } <= independent


def test_the_served_directives_are_those_of_the_committed_schema() -> None:
    """The walk reads the server's own SDL; the committed `schema.graphql` (held against the
    contract) must declare exactly the same scopes, so a directive lost in code fails here."""
    committed = ScopeMap((Path(__file__).resolve().parents[2] / "schema.graphql").read_text())
    served = scope_map()
    assert served.type_scopes == committed.type_scopes
    assert served.own == committed.own


@pytest.mark.parametrize("edge", EDGES, ids=lambda e: e.label)
async def test_scoped_edge(
    edge: Step, stack: Stack, orm: Stack, walk: tuple[World, dict[frozenset[str], str]]
) -> None:
    world, tokens = walk
    cases = cases_for(edge)
    failures: list[str] = []

    # Routes are independent: run a few at once (the server serves them concurrently anyway).
    slots = asyncio.Semaphore(4)
    feed_writes = asyncio.Lock()

    async def attempt(label: str, route: Route, token: str, check: Any, *extra: Any) -> None:
        refused_at_root = check is check_denial and extra[0] == 0
        async with slots:
            try:
                for result in await run_route(stack, route, token, world, tokens[ALL], feed_writes, refused_at_root):
                    check(result, route, *extra)
            except AssertionError as error:
                failures.append(f"{label} via {' > '.join(s.label for s in route)}: {error}")

    await asyncio.gather(
        *(
            attempt(f"without {d.dropped}", d.route, tokens[ALL - {d.dropped}], check_denial, d.at, d.dropped)
            for d in cases.denials
        ),
        *(attempt(f"with {sorted(g.scopes)}", g.route, tokens[g.scopes], check_grant) for g in cases.grants),
    )
    assert not failures, "\n".join(failures)
