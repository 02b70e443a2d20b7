"""The MCP server through the SDK's own client, over stdio and streamable HTTP, against a real
`berth serve` whose runner deploys the busybox test app on the test Docker daemon."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from tests.docker_fixtures import BusyboxImage
from tests.mcp.conftest import (
    DEPLOY_TIMEOUT,
    TRANSPORTS,
    McpServer,
    codes,
    forget_later,
    mcp_client,
    pk,
    structured,
    tool_names,
)
from tests.support.names import unique
from tests.support.polling import poll

READS = {"list_services", "list_deployments", "get_deployment", "plan_deployment"}
AGENT_TOOLS = READS | {"get_logs", "start_deployment", "cancel_deployment", "rollback_deployment"}
APPROVALS = {"approve_deployment", "reject_deployment"}
MISSING_IMAGE = "127.0.0.1:5000/berth-test/absent:never"


async def call(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(name, arguments)
    body = structured(result)
    assert body["ok"] is (not result.is_error), body
    return body


async def concluded(client: Client, deployment_id: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        record = (await call(client, "get_deployment", {"deploymentId": deployment_id, "views": False}))
        deployment = record["deployment"]
        return deployment if deployment["conclusion"] else None

    return await poll(check, DEPLOY_TIMEOUT, f"deployment {deployment_id} to conclude", interval=0.5)


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# ---------------------------------------------------------------- what each credential is offered

async def test_the_tool_list_follows_the_credentials_scopes(mcp_server: McpServer, transport: str) -> None:
    async with mcp_client(mcp_server, mcp_server.token("agent"), transport) as client:
        agent = await tool_names(client)
        listed = (await client.list_tools()).tools
    async with mcp_client(mcp_server, mcp_server.token("viewer"), transport) as client:
        viewer = await tool_names(client)
    async with mcp_client(mcp_server, mcp_server.token("owner"), transport) as client:
        owner = await tool_names(client)
    assert agent == AGENT_TOOLS  # deploy:approve is never an agent's
    assert viewer == READS  # no logs:read, no deploy:start/cancel/rollback
    assert AGENT_TOOLS <= owner and owner - AGENT_TOOLS <= APPROVALS
    for tool in listed:
        assert tool.input_schema["type"] == "object" and tool.output_schema is not None
        assert {"ok", "errors"} <= set(tool.output_schema["properties"])
        if tool.name in {"start_deployment", "cancel_deployment", "rollback_deployment"}:
            assert "confirm" in tool.input_schema["properties"]
            assert tool.annotations is not None and tool.annotations.read_only_hint is False


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_the_handshake_protocol_is_served_too(mcp_server: McpServer, transport: str) -> None:
    async with mcp_client(mcp_server, mcp_server.token("agent"), transport, mode="legacy") as client:
        assert client.protocol_version != "2026-07-28"
        assert await tool_names(client) == AGENT_TOOLS
        services = await client.call_tool("list_services", {})
    assert not services.is_error and structured(services)["ok"] is True


async def test_a_tool_not_offered_is_refused_with_the_missing_scope(mcp_server: McpServer, transport: str) -> None:
    project = mcp_server.project()
    service = mcp_server.service(project, MISSING_IMAGE)
    before = mcp_server.counts()
    async with mcp_client(mcp_server, mcp_server.token("viewer"), transport) as client:
        result = await client.call_tool("start_deployment", {"serviceId": service["id"], "confirm": True})
    assert result.is_error
    error = structured(result)["errors"][0]
    assert error["code"] == "FORBIDDEN" and error["missingScopes"] == ["deploy:start"]
    assert mcp_server.counts() == before


async def test_errors_are_results_with_the_apis_codes(mcp_server: McpServer, transport: str) -> None:
    async with mcp_client(mcp_server, mcp_server.token("agent"), transport) as client:
        missing = await client.call_tool("get_deployment", {"deploymentId": "RGVwbG95bWVudDo5OTk5OTk="})
        bad_args = await client.call_tool("get_logs", {"deploymentId": 7, "tail": 0, "colour": "red"})
        no_service = await client.call_tool("start_deployment", {"serviceId": "U2VydmljZTo5OTk5OTk=",
                                                                  "confirm": True})
        unknown = await client.call_tool("deploy_everything", {})
    assert missing.is_error and codes(missing) == ["NOT_FOUND"]
    assert bad_args.is_error and set(codes(bad_args)) == {"INVALID_INPUT"}
    fields = sorted(tuple(e["field"]) for e in structured(bad_args)["errors"])
    assert fields == [("arguments", "colour"), ("arguments", "deploymentId"), ("arguments", "tail")]
    # The mutation's own UserError, as the API gave it.
    assert no_service.is_error and codes(no_service) == ["NOT_FOUND"]
    assert structured(no_service)["errors"][0]["field"] == ["input", "serviceId"]
    assert unknown.is_error and codes(unknown) == ["NOT_FOUND"]


# ---------------------------------------------------------------- confirm

async def test_unconfirmed_changes_change_nothing(mcp_server: McpServer, transport: str) -> None:
    project = mcp_server.project()
    service = mcp_server.service(project, MISSING_IMAGE)
    with mcp_server.graphql() as gql:
        first = gql.mutate("startDeployment", {"serviceId": service["id"]}, "deployment { id }")
    deployment_id = first["deployment"]["id"]
    async with mcp_client(mcp_server, mcp_server.token("agent"), transport) as client:
        await concluded(client, deployment_id)  # the runner is done with it: nothing moves now
        before = mcp_server.counts()
        start = await client.call_tool("start_deployment", {"serviceId": service["id"], "imageTag": "v2",
                                                             "idempotencyKey": unique("key")})
        cancel = await client.call_tool("cancel_deployment", {"deploymentId": deployment_id})
        rollback = await client.call_tool("rollback_deployment", {"serviceId": service["id"],
                                                                   "toDeploymentId": deployment_id})
        assert mcp_server.counts() == before
    # start without confirm is planDeployment's answer (an error where the API has no plans).
    assert structured(start)["confirmed"] is False and structured(start).get("deployment") is None
    assert "Not done" in start.content[0].text or start.is_error
    assert not cancel.is_error and structured(cancel)["confirmed"] is False
    assert structured(cancel)["deployment"]["id"] == deployment_id
    assert "NOT_CANCELABLE" in structured(cancel)["wouldDo"]
    assert f"{project['name']}/production/{service['name']} #1" in cancel.content[0].text
    assert not rollback.is_error and structured(rollback)["target"]["id"] == deployment_id
    assert structured(rollback)["confirmed"] is False


# ---------------------------------------------------------------- real deployments

async def test_deploy_read_and_roll_back_on_docker(
    mcp_server: McpServer, transport: str, busybox_image: BusyboxImage
) -> None:
    project = mcp_server.project()
    service = mcp_server.service(project, busybox_image.ref("v1"))
    forget_later(mcp_server, service)
    name = f"{project['name']}/production/{service['name']}"
    key = unique("idem")
    async with mcp_client(mcp_server, mcp_server.token("agent"), transport) as client:
        started = await client.call_tool("start_deployment", {"serviceId": service["id"], "idempotencyKey": key,
                                                               "reason": "mcp test", "confirm": True})
        assert not started.is_error, structured(started)
        first = structured(started)["deployment"]
        assert first["number"] == 1 and first["trigger"] == "AGENT"
        assert f"{name} #1" in started.content[0].text
        again = await call(client, "start_deployment", {"serviceId": service["id"], "idempotencyKey": key,
                                                        "reason": "mcp test", "confirm": True})
        assert again["deployment"]["id"] == first["id"]  # the same key: the same deployment
        other = "http" if transport == "stdio" else "stdio"
        async with mcp_client(mcp_server, mcp_server.token("agent"), other) as elsewhere:
            # The key is the API's (per credential), not the transport's.
            across = await call(elsewhere, "start_deployment", {"serviceId": service["id"], "idempotencyKey": key,
                                                                "reason": "mcp test", "confirm": True})
            reused = await elsewhere.call_tool("start_deployment", {"serviceId": service["id"], "imageTag": "v2",
                                                                     "idempotencyKey": key, "confirm": True})
        assert across["deployment"]["id"] == first["id"]
        assert reused.is_error and codes(reused) == ["IDEMPOTENCY_KEY_REUSED"]
        done = await concluded(client, first["id"])
        assert done["conclusion"] == "SUCCEEDED", done

        record = await client.call_tool("get_deployment", {"deploymentId": first["id"]})
        deployment = structured(record)["deployment"]
        assert deployment["declaredConfig"]["source"]["image"] == busybox_image.ref("v1")
        assert deployment["frozenInput"]["image"] == busybox_image.ref("v1")
        assert deployment["input"]["imageDigest"] == busybox_image.digest("v1")
        assert deployment["lastObservedState"] is None or "drift" in deployment["lastObservedState"]
        assert f"{name} #1: COMPLETED/SUCCEEDED" in record.content[0].text

        everything = await call(client, "get_logs", {"deploymentId": first["id"], "limit": 1000})
        lines = everything["lines"]
        assert len(lines) >= 4 and [line["seq"] for line in lines] == list(range(1, len(lines) + 1))
        tail = await call(client, "get_logs", {"deploymentId": first["id"], "tail": 3})
        assert tail["lines"] == lines[-3:] and tail["lastSeq"] == lines[-1]["seq"]
        after = await call(client, "get_logs", {"deploymentId": first["id"], "afterSeq": 2, "limit": 2})
        assert [line["seq"] for line in after["lines"]] == [3, 4] and after["hasMore"] is (len(lines) > 4)

        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        assert templates == {"berth://deployments/{id}", "berth://deployments/{id}/logs"}
        listed = {(r.uri, r.name) for r in (await client.list_resources()).resources}
        assert (f"berth://deployments/{first['id']}", f"{name} #1") in listed
        artifact = (await client.read_resource(f"berth://deployments/{first['id']}")).contents[0]
        assert artifact.mime_type == "application/json"
        assert json.loads(artifact.text)["number"] == 1  # type: ignore[union-attr]
        log_text = (await client.read_resource(f"berth://deployments/{first['id']}/logs")).contents[0]
        assert log_text.text.splitlines() == [line["text"] for line in lines]  # type: ignore[union-attr]

        second = await call(client, "start_deployment", {"serviceId": service["id"], "imageTag": "v2",
                                                         "confirm": True})
        assert (await concluded(client, second["deployment"]["id"]))["conclusion"] == "SUCCEEDED"
        back_key = unique("back")
        back = await call(client, "rollback_deployment", {"serviceId": service["id"], "reason": "v2 is bad",
                                                          "idempotencyKey": back_key, "confirm": True})
        rolled = back["deployment"]
        assert rolled["number"] == 3 and rolled["rollbackOf"]["number"] == 1
        retried = await call(client, "rollback_deployment", {"serviceId": service["id"], "reason": "v2 is bad",
                                                             "idempotencyKey": back_key, "confirm": True})
        assert retried["deployment"]["id"] == rolled["id"]
        final = await concluded(client, rolled["id"])
        assert final["conclusion"] == "SUCCEEDED" and final["input"]["imageDigest"] == busybox_image.digest("v1")

        listing = await call(client, "list_deployments", {"serviceId": service["id"]})
        assert [d["number"] for d in listing["deployments"]] == [3, 2, 1] and listing["totalCount"] == 3


async def test_cancel_a_running_deployment(mcp_server: McpServer, busybox_image: BusyboxImage) -> None:
    project = mcp_server.project()
    # /missing answers 404: HEALTH keeps probing until the deployment is canceled.
    service = mcp_server.service(project, busybox_image.ref("v1"), health_path="/missing")
    forget_later(mcp_server, service)
    async with mcp_client(mcp_server, mcp_server.token("agent"), "http") as client:
        started = await call(client, "start_deployment", {"serviceId": service["id"], "confirm": True})
        deployment_id = started["deployment"]["id"]

        async def probing() -> bool:
            record = (await call(client, "get_deployment", {"deploymentId": deployment_id, "views": False}))
            return any(s["kind"] == "HEALTH" and s["status"] == "RUNNING" for s in record["deployment"]["steps"])

        await poll(probing, DEPLOY_TIMEOUT, "the HEALTH step to run", interval=0.5)
        preview = await call(client, "cancel_deployment", {"deploymentId": deployment_id, "reason": "stop"})
        assert preview["confirmed"] is False and preview["deployment"]["cancelRequestedAt"] is None
        canceled = await call(client, "cancel_deployment", {"deploymentId": deployment_id, "reason": "stop",
                                                            "confirm": True})
        assert canceled["deployment"]["cancelRequestedAt"] is not None
        done = await concluded(client, deployment_id)
        assert done["conclusion"] == "CANCELED" and done["cancelReason"] == "stop"
        late = await client.call_tool("cancel_deployment", {"deploymentId": deployment_id, "confirm": True})
        assert late.is_error and codes(late) == ["NOT_CANCELABLE"]


# ---------------------------------------------------------------- project limits and credentials

async def test_a_project_limited_token_sees_nothing_of_other_projects(
    mcp_server: McpServer, transport: str
) -> None:
    mine, theirs = mcp_server.project(), mcp_server.project()
    my_service = mcp_server.service(mine, MISSING_IMAGE)
    their_service = mcp_server.service(theirs, MISSING_IMAGE)
    with mcp_server.graphql() as gql:
        theirs_started = gql.mutate("startDeployment", {"serviceId": their_service["id"]}, "deployment { id }")
    their_deployment = theirs_started["deployment"]["id"]
    token = mcp_server.token("agent", projects=(pk(mine["id"]),), fresh=True)
    async with mcp_client(mcp_server, mcp_server.token("agent"), transport) as client:
        await concluded(client, their_deployment)  # the runner is done with it: nothing moves now
    before = mcp_server.counts()
    async with mcp_client(mcp_server, token, transport) as client:
        services = await call(client, "list_services", {})
        deployments = await call(client, "list_deployments", {"first": 100})
        get = await client.call_tool("get_deployment", {"deploymentId": their_deployment})
        logs = await client.call_tool("get_logs", {"deploymentId": their_deployment, "tail": 5})
        cancel = await client.call_tool("cancel_deployment", {"deploymentId": their_deployment, "confirm": True})
        start = await client.call_tool("start_deployment", {"serviceId": their_service["id"], "confirm": True})
        rollback = await client.call_tool("rollback_deployment", {"serviceId": their_service["id"]})
        with pytest.raises(MCPError) as record:
            await client.read_resource(f"berth://deployments/{their_deployment}")
        resources = {r.uri for r in (await client.list_resources()).resources}
    assert {s["id"] for s in services["services"]} == {my_service["id"]}
    assert their_deployment not in {d["id"] for d in deployments["deployments"]}
    assert f"berth://deployments/{their_deployment}" not in resources
    for result in (get, logs, cancel, start, rollback):
        assert result.is_error and codes(result) == ["NOT_FOUND"], structured(result)
    assert "NOT_FOUND" in record.value.message
    assert mcp_server.counts() == before


async def test_bad_credentials_are_refused_on_mcp(mcp_server: McpServer) -> None:
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    with httpx.Client(base_url=mcp_server.url, timeout=30) as http:
        bad = http.post("/mcp", json=initialize, headers={**headers, "Authorization": "Bearer berth_pat_nope"})
        none = http.post("/mcp", json=initialize, headers=headers)
        in_url = http.post("/mcp?access_token=x", json=initialize, headers=headers)
        origin = http.post("/mcp", json=initialize, headers={
            **headers, "Origin": "https://evil.example", "Authorization": f"Bearer {mcp_server.token('agent')}"})
    for response in (bad, none):
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert in_url.status_code == 400
    assert origin.status_code == 403


def test_only_post_is_served_on_mcp(mcp_server: McpServer) -> None:
    """No GET stream is held open (nothing is ever pushed) and there is no session to DELETE."""
    headers = {"Accept": "text/event-stream, application/json", "Authorization": f"Bearer {mcp_server.token('agent')}"}
    with httpx.Client(base_url=mcp_server.url, timeout=30) as http:
        for method in ("GET", "DELETE", "PUT"):
            response = http.request(method, "/mcp", headers=headers)
            assert response.status_code == 405, (method, response.text)
            assert response.headers["allow"] == "POST"
            assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


async def test_stdio_with_a_refused_credential_says_so(mcp_server: McpServer) -> None:
    async with mcp_client(mcp_server, "berth_pat_not_a_real_token", "stdio") as client:
        with pytest.raises(MCPError) as listing:
            await client.list_tools()
        result = await client.call_tool("list_services", {})
    assert "UNAUTHENTICATED" in listing.value.message
    assert result.is_error and codes(result) == ["UNAUTHENTICATED"]
