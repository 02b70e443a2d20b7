"""Protected environments through MCP (contract v2 agents.graphql): an agent plans and starts
into an environment that needs an approval, the deployment waits, the agent cannot approve it,
an operator approves and it runs; a rejection concludes it. Over stdio and streamable HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from tests.docker_fixtures import BusyboxImage
from tests.mcp.conftest import (
    DEPLOY_TIMEOUT,
    TRANSPORTS,
    McpServer,
    codes,
    forget_later,
    mcp_client,
    structured,
    tool_names,
)
from tests.support.names import unique
from tests.support.polling import poll

APPROVAL = "approval { state required decisions { approved comment actor { subject role } } }"


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def call(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(name, arguments)
    body = structured(result)
    assert not result.is_error, body
    return body


def record(server: McpServer, deployment_id: str) -> dict[str, Any]:
    with server.graphql() as gql:
        query = f"query D($id: ID!) {{ deployment(id: $id) {{ id status conclusion queuePosition {APPROVAL} }} }}"
        return dict(gql.query(query, {"id": deployment_id})["deployment"])


async def concluded(server: McpServer, deployment_id: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        found = record(server, deployment_id)
        return found if found["conclusion"] else None

    return await poll(check, DEPLOY_TIMEOUT, f"deployment {deployment_id} to conclude", interval=0.5)


def protected_service(server: McpServer, image: str) -> dict[str, Any]:
    """A service in an environment that needs one approval."""
    project = server.project()
    service = server.service(project, image)
    forget_later(server, service)
    with server.graphql() as gql:
        payload = gql.mutate("updateEnvironment", {"environmentId": service["environment"]["id"],
                                                   "requiredApprovals": 1},
                             "environment { id requiredApprovals }")
    assert payload["errors"] == [] and payload["environment"]["requiredApprovals"] == 1, payload
    return service


async def test_only_approvers_are_offered_the_approval_tools(mcp_server: McpServer, transport: str) -> None:
    async with mcp_client(mcp_server, mcp_server.token("agent"), transport) as client:
        agent = await tool_names(client)
    async with mcp_client(mcp_server, mcp_server.token("operator"), transport) as client:
        operator = await tool_names(client)
    assert {"plan_deployment", "start_deployment"} <= agent
    assert not agent & {"approve_deployment", "reject_deployment"}
    assert {"approve_deployment", "reject_deployment"} <= operator


async def test_an_agents_deployment_waits_until_an_operator_approves(
    mcp_server: McpServer, transport: str, busybox_image: BusyboxImage
) -> None:
    service = protected_service(mcp_server, busybox_image.ref("v1"))
    async with mcp_client(mcp_server, mcp_server.token("agent"), transport) as agent:
        plan = (await call(agent, "plan_deployment", {"serviceId": service["id"]}))["plan"]
        assert plan["requiresApproval"] is True and plan["problems"] == []
        before = mcp_server.counts()
        unconfirmed = await call(agent, "start_deployment", {"serviceId": service["id"]})
        assert unconfirmed["confirmed"] is False and unconfirmed["plan"]["requiresApproval"] is True
        assert mcp_server.counts() == before
        started = await call(agent, "start_deployment", {"serviceId": service["id"], "confirm": True,
                                                         "idempotencyKey": unique("approvals")})
        deployment_id = started["deployment"]["id"]
        own = await agent.call_tool("approve_deployment", {"deploymentId": deployment_id, "confirm": True})
        assert own.is_error and codes(own) == ["FORBIDDEN"]  # agents never hold deploy:approve

    # It waits: a deployment of an unprotected service on the same server runs and concludes first.
    other_project = mcp_server.project()
    other = mcp_server.service(other_project, busybox_image.ref("v1"))
    forget_later(mcp_server, other)
    with mcp_server.graphql() as gql:
        passing = gql.mutate("startDeployment", {"serviceId": other["id"]}, "deployment { id }")["deployment"]
    assert (await concluded(mcp_server, passing["id"]))["conclusion"] == "SUCCEEDED"
    waiting = record(mcp_server, deployment_id)
    assert waiting["status"] == "QUEUED" and waiting["approval"]["state"] == "PENDING"
    assert waiting["approval"]["required"] == 1

    async with mcp_client(mcp_server, mcp_server.token("operator"), transport) as operator:
        preview = await call(operator, "approve_deployment", {"deploymentId": deployment_id, "comment": "ok"})
        assert preview["confirmed"] is False and preview["deployment"]["approval"]["state"] == "PENDING"
        assert record(mcp_server, deployment_id)["approval"]["decisions"] == []
        approved = await call(operator, "approve_deployment", {"deploymentId": deployment_id, "comment": "ok",
                                                               "confirm": True})
        assert approved["deployment"]["approval"]["state"] == "APPROVED"
    done = await concluded(mcp_server, deployment_id)
    assert done["conclusion"] == "SUCCEEDED"
    assert [d["approved"] for d in done["approval"]["decisions"]] == [True]


async def test_a_starter_cannot_approve_their_own(
    mcp_server: McpServer, transport: str, busybox_image: BusyboxImage
) -> None:
    service = protected_service(mcp_server, busybox_image.ref("v1"))
    token = mcp_server.token("operator", fresh=True)
    async with mcp_client(mcp_server, token, transport) as operator:
        started = await call(operator, "start_deployment", {"serviceId": service["id"], "confirm": True})
        deployment_id = started["deployment"]["id"]
        own = await operator.call_tool("approve_deployment", {"deploymentId": deployment_id, "confirm": True})
    assert own.is_error and structured(own)["errors"], structured(own)
    assert record(mcp_server, deployment_id)["approval"]["state"] == "PENDING"
    async with mcp_client(mcp_server, mcp_server.token("owner"), transport) as owner:
        await call(owner, "reject_deployment", {"deploymentId": deployment_id, "comment": "cleanup",
                                                "confirm": True})


async def test_a_rejection_concludes_the_deployment(
    mcp_server: McpServer, transport: str, busybox_image: BusyboxImage
) -> None:
    service = protected_service(mcp_server, busybox_image.ref("v1"))
    async with mcp_client(mcp_server, mcp_server.token("agent"), transport) as agent:
        started = await call(agent, "start_deployment", {"serviceId": service["id"], "confirm": True})
    deployment_id = started["deployment"]["id"]
    async with mcp_client(mcp_server, mcp_server.token("operator"), transport) as operator:
        before = mcp_server.counts()
        preview = await call(operator, "reject_deployment", {"deploymentId": deployment_id, "comment": "not now"})
        assert preview["confirmed"] is False and mcp_server.counts() == before
        rejected = await call(operator, "reject_deployment", {"deploymentId": deployment_id,
                                                              "comment": "not now", "confirm": True})
    deployment = rejected["deployment"]
    assert deployment["status"] == "FAILED" and deployment["conclusion"] == "CANCELED"
    assert deployment["approval"]["state"] == "REJECTED"
    assert deployment["approval"]["decisions"][0]["comment"] == "not now"
