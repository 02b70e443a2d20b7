"""The MCP tools: name, scopes, input and output schema, and the function that runs each
(berth.mcp.reads, berth.mcp.changes): one or two GraphQL operations through the executor."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from berth.mcp import changes, reads
from berth.mcp import documents as doc
from berth.mcp.arguments import check
from berth.mcp.executor import Executor, ExecutorFailure
from berth.mcp.operations import execute
from berth.mcp.outcomes import Outcome, failed, of_failure, problem

Run = Callable[[Executor, dict[str, Any]], Awaitable[Outcome]]

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "description": "The API's code: a UserErrorCode or a GraphQL extensions.code"},
        "message": {"type": "string"},
        "field": {"type": ["array", "null"], "items": {"type": "string"}},
        "path": {"type": "array", "items": {"type": "string"}},
        "missingScopes": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["code", "message"],
}

OBJECT_OR_NULL = {"type": ["object", "null"]}
LIST_OF_OBJECTS = {"type": "array", "items": {"type": "object"}}
STRING = {"type": "string"}
ID = {"type": "string", "description": "A global id as the API gives it"}
CONFIRM = {"type": "boolean", "description": "true to do it; without it nothing changes and the answer says what would happen"}
IDEMPOTENCY_KEY = {"type": "string", "description": "Same key and same input within 24 h return the original deployment"}
REASON = {"type": "string", "description": "Why; stored on the deployment"}


@dataclass(frozen=True)
class ToolSpec:
    name: str
    title: str
    description: str
    # All of these are needed for the tool to be offered (and served).
    scopes: frozenset[str]
    properties: dict[str, Any]
    required: tuple[str, ...]
    # Keys of the structured result besides `ok`, `errors` and `warnings`.
    output: dict[str, Any]
    run: Run
    read_only: bool = True
    destructive: bool = False
    idempotent: bool = True

    def input_schema(self) -> dict[str, Any]:
        return {"type": "object", "properties": self.properties, "required": list(self.required),
                "additionalProperties": False}

    def output_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "ok": {"type": "boolean"},
                "errors": {"type": "array", "items": ERROR_SCHEMA},
                "warnings": {"type": "array", "items": ERROR_SCHEMA},
                **self.output,
            },
            "required": ["ok", "errors"],
        }


def _scopes(*names: str) -> frozenset[str]:
    return frozenset(names)


DEPLOYMENT_OUT = {"deployment": OBJECT_OR_NULL}
CHANGE_OUT = {"confirmed": {"type": "boolean"}, "deployment": OBJECT_OR_NULL, "plan": OBJECT_OR_NULL,
              "wouldDo": STRING}
START_INPUT = {
    "serviceId": ID,
    "imageTag": {"type": "string", "description": "IMAGE: the tag; COMPOSE: an image override"},
    "ref": {"type": "string", "description": "DOCKERFILE/COMPOSE from a repository: branch, tag or commit"},
    "reason": REASON,
    "idempotencyKey": IDEMPOTENCY_KEY,
}

TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "list_services", "List services",
        "The services this credential may see, by project and environment, with their latest deployment.",
        _scopes("service:read"), {}, (), {"services": LIST_OF_OBJECTS}, reads.list_services,
    ),
    ToolSpec(
        "list_deployments", "List deployments",
        "Deployments this credential may see, newest first, optionally filtered; page with `after`.",
        _scopes("deploy:read"),
        {
            "projectId": ID, "serviceId": ID, "environmentId": ID,
            "status": {"type": "array", "items": {"type": "string", "enum": reads.STATUSES}},
            "first": {"type": "integer", "minimum": 1, "maximum": 100, "description": "default 20"},
            "after": {"type": "string", "description": "endCursor of the previous page"},
        },
        (), {"deployments": LIST_OF_OBJECTS, "totalCount": {"type": "integer"},
             "hasNextPage": {"type": "boolean"}, "endCursor": {"type": ["string", "null"]}},
        reads.list_deployments,
    ),
    ToolSpec(
        "get_deployment", "Get a deployment",
        "One deployment's record and its three views: declaredConfig (what was selected), frozenInput "
        "(what was queued, replayable) and lastObservedState (what runs now).",
        _scopes("deploy:read"),
        {"deploymentId": ID, "views": {"type": "boolean", "description": "include the three views (default true)"}},
        ("deploymentId",), DEPLOYMENT_OUT, reads.get_deployment,
    ),
    ToolSpec(
        "get_logs", "Get deployment logs",
        "Log lines of a deployment: the last `tail` lines, or up to `limit` lines after `afterSeq` "
        "(resume with afterSeq = lastSeq).",
        _scopes("deploy:read", "logs:read"),
        {
            "deploymentId": ID,
            "tail": {"type": "integer", "minimum": 1, "maximum": reads.MAX_LOG_LINES},
            "afterSeq": {"type": "integer", "minimum": 0},
            "limit": {"type": "integer", "minimum": 1, "maximum": reads.MAX_LOG_LINES,
                      "description": f"default {reads.DEFAULT_LOG_LINES}"},
        },
        ("deploymentId",),
        {"deployment": OBJECT_OR_NULL, "lines": LIST_OF_OBJECTS, "lastSeq": {"type": ["integer", "null"]},
         "hasMore": {"type": "boolean"}},
        reads.get_logs,
    ),
    ToolSpec(
        "plan_deployment", "Plan a deployment",
        "What start_deployment would do, computed without queuing anything: changes against the live "
        "state, what it would supersede, the queue ahead, whether it needs approval, and its refusals.",
        _scopes("deploy:read"), START_INPUT, ("serviceId",), {"plan": OBJECT_OR_NULL}, reads.plan_deployment,
    ),
    ToolSpec(
        "start_deployment", "Start a deployment",
        "Queue a deployment of a service. Without confirm: true it only returns the plan.",
        _scopes("deploy:read", "deploy:start"), {**START_INPUT, "confirm": CONFIRM}, ("serviceId",),
        CHANGE_OUT, changes.start_deployment, read_only=False, idempotent=False,
    ),
    ToolSpec(
        "cancel_deployment", "Cancel a deployment",
        "Cancel a queued or running deployment. Without confirm: true it returns its state and what "
        "cancelling does.",
        _scopes("deploy:read", "deploy:cancel"), {"deploymentId": ID, "reason": REASON, "confirm": CONFIRM},
        ("deploymentId",), CHANGE_OUT, changes.cancel_deployment, read_only=False, destructive=True,
    ),
    ToolSpec(
        "rollback_deployment", "Roll back a service",
        "Queue a deployment replaying an earlier successful one. Without confirm: true it returns the "
        "service, the target if named, and what rolling back does.",
        _scopes("deploy:read", "deploy:rollback"),
        {"serviceId": ID, "toDeploymentId": ID, "reason": REASON, "idempotencyKey": IDEMPOTENCY_KEY,
         "confirm": CONFIRM},
        ("serviceId",), {**CHANGE_OUT, "service": OBJECT_OR_NULL, "target": OBJECT_OR_NULL},
        changes.rollback_deployment, read_only=False, destructive=True, idempotent=False,
    ),
    ToolSpec(
        "approve_deployment", "Approve a deployment",
        "Approve a deployment waiting for approval (not one you started). Without confirm: true it "
        "returns its approval state.",
        _scopes("deploy:read", "deploy:approve"),
        {"deploymentId": ID, "comment": STRING, "confirm": CONFIRM}, ("deploymentId",), CHANGE_OUT,
        changes.approve_deployment, read_only=False,
    ),
    ToolSpec(
        "reject_deployment", "Reject a deployment",
        "Reject a deployment waiting for approval: it concludes CANCELED with the comment. Without "
        "confirm: true it returns its approval state.",
        _scopes("deploy:read", "deploy:approve"),
        {"deploymentId": ID, "comment": STRING, "confirm": CONFIRM}, ("deploymentId",), CHANGE_OUT,
        changes.reject_deployment, read_only=False, destructive=True,
    ),
)

TOOLS_BY_NAME = {tool.name: tool for tool in TOOLS}


def offered(scopes: frozenset[str]) -> list[ToolSpec]:
    """The tools a credential with `scopes` is offered."""
    return [tool for tool in TOOLS if tool.scopes <= scopes]


async def viewer_scopes(executor: Executor) -> frozenset[str]:
    """The credential's effective scopes, as the API reports them (`viewer.scopes`)."""
    data, errors, _ = await execute(executor, doc.VIEWER, {})
    viewer = data.get("viewer")
    if errors or not isinstance(viewer, dict):
        first = errors[0] if errors else problem("UNAUTHENTICATED", "no viewer for this credential")
        raise ExecutorFailure(first["code"], first["message"])
    return frozenset(str(scope) for scope in viewer.get("scopes") or [])


async def call(executor: Executor, name: str, arguments: Mapping[str, Any] | None) -> Outcome:
    """Run tool `name`: unknown or not offered to this credential → an error result, never a crash."""
    tool = TOOLS_BY_NAME.get(name)
    if tool is None:
        return failed([problem("NOT_FOUND", f"no tool named {name!r}", ["name"])])
    args, problems = check_arguments(tool, arguments)
    if problems:
        return failed(problems)
    try:
        scopes = await viewer_scopes(executor)
        missing = sorted(tool.scopes - scopes)
        if missing:
            return failed([problem("FORBIDDEN", f"Missing scope(s): {', '.join(missing)}.",
                                   requiredScopes=sorted(tool.scopes), missingScopes=missing)])
        return await tool.run(executor, args)
    except ExecutorFailure as failure:
        return of_failure(failure)


def check_arguments(tool: ToolSpec, arguments: Mapping[str, Any] | None
                    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    return check(arguments, tool.properties, tool.required)
