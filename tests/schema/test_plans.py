"""planDeployment over the API: the refusals are startDeployment's, for the walk's refused
input and more; a plan changes no row of any table; a plan with data resolves it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from berth.auth.scopes import SCOPE_NAMES
from tests.schema.conftest import Stack
from tests.schema.world import MISSING_PK, World, gid, mint, refused_inputs, snapshot

PLAN = """query ($input: StartDeploymentInput!) {
  planDeployment(input: $input) {
    service { id } changes { path before after } wouldSupersede { id number approval { state } }
    queueAhead requiresApproval problems { code message field }
  }
}"""
START = """mutation ($input: StartDeploymentInput!) {
  startDeployment(input: $input) { deployment { id } errors { code message field } }
}"""


@pytest.fixture(scope="module")
def world(stack: Stack) -> World:
    return stack.seeded()


def refused_starts(world: World) -> list[dict[str, Any]]:
    """The walk's refused startDeployment input, and others startDeployment refuses."""
    service = gid("Service", world.service_a)
    return [
        refused_inputs(world)["startDeployment"]["input"],
        {"serviceId": gid("Deployment", world.deployment_a1)},  # not a service's id
        {"serviceId": "not-an-id"},
        {"serviceId": gid("Service", MISSING_PK), "imageTag": "v2"},
        {"serviceId": service, "ref": "main"},
        {"serviceId": service, "imageTag": "-bad", "reason": "x" * 5000, "idempotencyKey": ""},
        {"serviceId": gid("Service", world.service_b)},  # refused only for the limited token below
    ]


async def run(stack: Stack, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    client = stack.client(token)
    try:
        result = await asyncio.to_thread(client.execute, query, variables)
    finally:
        client.close()
    assert not result.errors, result.errors
    return dict(result.data)


async def test_problems_are_the_errors_start_returns(orm: Stack, world: World) -> None:
    everything = await mint(SCOPE_NAMES)
    limited = await mint(SCOPE_NAMES, project_ids=[world.project_a])
    for variables in refused_starts(world):
        token = limited if variables["serviceId"] == gid("Service", world.service_b) else everything
        before = await snapshot()
        plan = (await run(orm, token, PLAN, {"input": variables}))["planDeployment"]
        assert await snapshot() == before, variables
        started = (await run(orm, token, START, {"input": variables}))["startDeployment"]
        assert started["deployment"] is None
        assert plan["problems"] and plan["problems"] == started["errors"], variables
        assert (plan["changes"], plan["wouldSupersede"]) == ([], [])
        assert await snapshot() == before, variables


async def test_a_plan_of_a_real_service_writes_nothing(orm: Stack, world: World) -> None:
    token = await mint(SCOPE_NAMES)
    before = await snapshot()
    variables = {"input": {"serviceId": gid("Service", world.service_a), "imageTag": "v9",
                           "idempotencyKey": "plan-only"}}
    plan = (await run(orm, token, PLAN, variables))["planDeployment"]
    assert await snapshot() == before
    assert plan["problems"] == [] and plan["service"] == {"id": gid("Service", world.service_a)}
    assert plan["requiresApproval"] is False
    # The world's rollback waiting for approval is what a start would supersede (this
    # module starts nothing that succeeds, so it is still waiting).
    assert plan["wouldSupersede"] == [
        {"id": gid("Deployment", world.deployment_a3), "number": 3, "approval": {"state": "PENDING"}}]
    assert any(change["path"] == "imageTag" and change["after"] == "v9" for change in plan["changes"])
