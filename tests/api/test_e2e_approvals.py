"""Protected environments and plans through the real server, on SQLite and PostgreSQL: what
each role may do, the approval on the record and in the events, and a plan that writes nothing.
The servers' runners are kept away (conftest), so deployments stay where the API leaves them."""

from __future__ import annotations

from typing import Any

from berth.models import DeploymentEvent
from berth.models.enums import DeploymentEventType

from .conftest import Api, pk

APPROVAL = "approval { state required decisions { actor { subject role } approved comment at } }"
RECORD = f"id number status conclusion queuePosition cancelReason {APPROVAL}"
DECIDE = """mutation ($input: DecideDeploymentInput!) {
  %s(input: $input) { deployment { %s } errors { code message field } }
}"""
UPDATE = """mutation ($input: UpdateEnvironmentInput!) {
  updateEnvironment(input: $input) { environment { id requiredApprovals } errors { code message field } }
}"""
PLAN = """query ($input: StartDeploymentInput!) {
  planDeployment(input: $input) { wouldSupersede { id } queueAhead requiresApproval problems { code field } }
}"""


async def decide(api: Api, role: str, mutation: str, deployment_id: str, comment: str | None = None,
                 token: str | None = None) -> dict[str, Any]:
    return api.post(DECIDE % (mutation, RECORD), {"input": {"deploymentId": deployment_id, "comment": comment}},
                    token=token or await api.token(role))


async def protect(api: Api, service: dict[str, Any], required: int) -> dict[str, Any]:
    body = api.post(UPDATE, {"input": {"environmentId": service["environment"]["id"], "requiredApprovals": required}},
                    token=await api.token("operator"))
    return dict(body["data"]["updateEnvironment"])


async def test_roles_decisions_and_the_record(api: Api) -> None:
    service = await api.create_service()
    assert (await protect(api, service, 1))["environment"]["requiredApprovals"] == 1
    refused = await protect(api, service, 11)
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID_INPUT", ["input", "requiredApprovals"])]
    agent_update = api.post(UPDATE, {"input": {"environmentId": service["environment"]["id"], "requiredApprovals": 0}},
                            token=await api.token("agent"))
    assert agent_update["errors"][0]["extensions"]["missingScopes"] == ["service:write"]

    waiting = await api.start(service, role="agent", selection=RECORD)
    assert (waiting["status"], waiting["queuePosition"]) == ("QUEUED", None)
    assert waiting["approval"] == {"state": "PENDING", "required": 1, "decisions": []}

    for role in ("agent", "developer", "viewer"):
        denied = await decide(api, role, "approveDeployment", waiting["id"])
        assert denied["data"] == {"approveDeployment": None}, role
        assert denied["errors"][0]["extensions"]["missingScopes"] == ["deploy:approve"], role
    approved = (await decide(api, "operator", "approveDeployment", waiting["id"], "ok"))["data"]["approveDeployment"]
    assert approved["errors"] == []
    record = approved["deployment"]
    assert record["approval"]["state"] == "APPROVED" and record["queuePosition"] == 1
    assert [(d["actor"]["role"], d["approved"], d["comment"]) for d in record["approval"]["decisions"]] == [
        ("OPERATOR", True, "ok")]
    events = await DeploymentEvent.filter(deployment_id=pk(waiting["id"])).order_by("seq")
    assert [e.type for e in events] == [DeploymentEventType.CREATED, DeploymentEventType.APPROVAL_DECIDED]

    own = await api.start(service, role="operator", selection=RECORD)
    selfish = (await decide(api, "operator", "approveDeployment", own["id"]))["data"]["approveDeployment"]
    assert [(e["code"], e["field"]) for e in selfish["errors"]] == [("SELF_APPROVAL", ["input", "deploymentId"])]
    no_comment = (await decide(api, "admin", "rejectDeployment", own["id"]))["data"]["rejectDeployment"]
    assert [(e["code"], e["field"]) for e in no_comment["errors"]] == [("INVALID_INPUT", ["input", "comment"])]
    rejected = (await decide(api, "admin", "rejectDeployment", own["id"], "freeze"))["data"]["rejectDeployment"]
    assert rejected["errors"] == []
    assert (rejected["deployment"]["status"], rejected["deployment"]["conclusion"]) == ("FAILED", "CANCELED")
    assert (rejected["deployment"]["cancelReason"], rejected["deployment"]["approval"]["state"]) == (
        "freeze", "REJECTED")
    late = (await decide(api, "owner", "approveDeployment", own["id"]))["data"]["approveDeployment"]
    assert [e["code"] for e in late["errors"]] == ["CONFLICT"]

    # Unprotected deployments say so; a list of deployments carries every approval.
    other = await api.create_service()
    plain = await api.start(other, selection=RECORD)
    assert plain["approval"] == {"state": "NOT_REQUIRED", "required": 0, "decisions": []}
    listed = await api.query(
        "query ($f: DeploymentFilter) { deployments(first: 10, filter: $f) { nodes { id approval { state } } } }",
        {"f": {"serviceId": service["id"]}})
    assert {n["id"]: n["approval"]["state"] for n in listed["deployments"]["nodes"]} == {
        waiting["id"]: "APPROVED", own["id"]: "REJECTED"}


async def test_a_plan_writes_nothing_and_says_what_a_start_would_do(api: Api) -> None:
    service = await api.create_service()
    queued = await api.start(service, selection="id")
    before = await api.snapshot()
    plan = api.post(PLAN, {"input": {"serviceId": service["id"], "idempotencyKey": "plan-e2e"}},
                    token=await api.token("agent"))["data"]["planDeployment"]
    assert plan == {"wouldSupersede": [{"id": queued["id"]}], "queueAhead": 0, "requiresApproval": False,
                    "problems": []}
    refused = api.post(PLAN, {"input": {"serviceId": service["id"], "ref": "main"}},
                       token=await api.token("viewer"))["data"]["planDeployment"]
    assert refused["problems"] == [{"code": "INVALID_INPUT", "field": ["input", "ref"]}]
    assert await api.snapshot() == before
    await protect(api, service, 2)
    before = await api.snapshot()
    protected = api.post(PLAN, {"input": {"serviceId": service["id"]}},
                         token=await api.token("agent"))["data"]["planDeployment"]
    assert (protected["requiresApproval"], protected["wouldSupersede"]) == (True, [])
    assert await api.snapshot() == before
    # The key was not reserved: a start with it queues a deployment.
    started = await api.ok("startDeployment", {"serviceId": service["id"], "idempotencyKey": "plan-e2e"},
                           "deployment { id approval { state } }", role="agent")
    assert started["deployment"]["approval"] == {"state": "PENDING"}
