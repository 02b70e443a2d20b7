"""The MCP tools' GraphQL documents fit the API: today's schema, and the contract v2 fragment
(agents.graphql) for the plan and approval fields; and the tools send what they say."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from graphql import build_schema as build_sdl
from graphql import extend_schema, parse, validate

from berth.mcp import documents, tools
from berth.schema import build_schema

ROOT = Path(__file__).resolve().parents[2]
AGENTS_FRAGMENT = ROOT.parent / "shared" / "contract" / "v2" / "agents.graphql"
V2_DOCUMENTS = {"PLAN", "APPROVE", "REJECT", "GET_DEPLOYMENT_WITH_APPROVAL"}
ALL_DOCUMENTS = {name: value for name, value in vars(documents).items()
                 if name.isupper() and isinstance(value, str) and value.lstrip().startswith(("query", "mutation"))}


def test_every_tool_is_documented() -> None:
    assert V2_DOCUMENTS < set(ALL_DOCUMENTS)
    text = (ROOT / "docs" / "mcp.md").read_text()
    for tool in tools.TOOLS:
        assert f"`{tool.name}`" in text, tool.name
        for scope in tool.scopes:
            assert scope in text


@pytest.mark.parametrize("name", sorted(set(ALL_DOCUMENTS) - V2_DOCUMENTS))
def test_documents_validate_against_the_schema(name: str) -> None:
    schema = build_schema()._schema
    assert validate(schema, parse(ALL_DOCUMENTS[name])) == []


@pytest.mark.parametrize("name", sorted(V2_DOCUMENTS))
def test_plan_and_approval_documents_validate_against_the_contract(name: str) -> None:
    """Against the schema once it has the approval fields; until then against the printed
    schema extended by the contract fragment."""
    live = build_schema()
    if "approveDeployment" in live.as_str():
        schema = live._schema
    elif AGENTS_FRAGMENT.exists():
        schema = extend_schema(build_sdl((ROOT / "schema.graphql").read_text()), parse(AGENTS_FRAGMENT.read_text()))
    else:
        pytest.skip("the shared contract is not beside this checkout")
    assert validate(schema, parse(ALL_DOCUMENTS[name])) == []


class Recorder:
    """An executor that answers from a table and records what it was asked."""

    def __init__(self, answers: dict[str, dict[str, Any]]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        operation = document.split("(")[0].split("{")[0].split()[1]
        self.calls.append((operation, variables))
        return self.answers[operation]


DEPLOYMENT = {"id": "D1", "number": 4, "status": "QUEUED", "conclusion": None, "queuePosition": None,
              "project": {"name": "shop"}, "environment": {"name": "production"}, "service": {"name": "web"},
              "approval": {"state": "PENDING", "required": 1, "decisions": []}}
VIEWER = {"data": {"viewer": {"scopes": ["deploy:read", "deploy:approve"]}}}


async def test_approve_without_confirm_only_reads() -> None:
    executor = Recorder({"McpViewer": VIEWER, "McpDeploymentApproval": {"data": {"deployment": DEPLOYMENT}}})
    outcome = await tools.call(executor, "approve_deployment", {"deploymentId": "D1", "comment": "ok"})
    assert [name for name, _ in executor.calls] == ["McpViewer", "McpDeploymentApproval"]
    assert not outcome.is_error and outcome.structured["confirmed"] is False
    assert "shop/production/web #4: QUEUED, approval PENDING" in outcome.summary


@pytest.mark.parametrize(("tool", "operation", "field"), [
    ("approve_deployment", "McpApprove", "approveDeployment"),
    ("reject_deployment", "McpReject", "rejectDeployment"),
])
async def test_decisions_with_confirm_send_the_mutation(tool: str, operation: str, field: str) -> None:
    payload = {"data": {field: {"deployment": DEPLOYMENT, "errors": []}}}
    executor = Recorder({"McpViewer": VIEWER, operation: payload})
    outcome = await tools.call(executor, tool, {"deploymentId": "D1", "comment": "why", "confirm": True})
    assert executor.calls[-1] == (operation, {"input": {"deploymentId": "D1", "comment": "why"}})
    assert not outcome.is_error and outcome.structured["deployment"]["id"] == "D1"


async def test_a_refusal_keeps_the_apis_code_and_field() -> None:
    refused = {"data": {"approveDeployment": {"deployment": None, "errors": [
        {"code": "CONFLICT", "message": "you started it", "field": ["input", "deploymentId"]}]}}}
    executor = Recorder({"McpViewer": VIEWER, "McpApprove": refused})
    outcome = await tools.call(executor, "approve_deployment", {"deploymentId": "D1", "confirm": True})
    assert outcome.is_error
    assert outcome.content()["errors"] == [
        {"code": "CONFLICT", "message": "you started it", "field": ["input", "deploymentId"]}]
    assert outcome.content()["ok"] is False
