"""The MCP tools: each one GraphQL operation (or two) through the executor.

Tools that change something take `confirm`; without `confirm: true` they change
nothing and say what the call would do:

- start_deployment: the API's `planDeployment` for the same input;
- cancel_deployment, rollback_deployment, approve_deployment, reject_deployment: the
  current record(s) and what the mutation does, as the API documents it — no prediction
  of the API's decision, which it takes (and may refuse, with its code) at call time.

Idempotency keys: startDeployment and rollbackDeployment take one (CONTRACT §3: same key
and input within 24 h return the original deployment). cancel, approve and reject name
an existing deployment and create nothing, so a retry cannot make a second one; their
tools take no key (a repeated cancel of a running deployment changes nothing, one of a
concluded one is NOT_CANCELABLE; a decision is the API's to count once per principal).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from berth.mcp import documents as doc
from berth.mcp.arguments import check
from berth.mcp.executor import Executor, ExecutorFailure
from berth.mcp.outcomes import (
    Outcome,
    describe,
    failed,
    name_of,
    of_failure,
    problem,
    split_errors,
    user_errors,
)

LOG_PAGE = 100
MAX_LOG_LINES = 1000
DEFAULT_LOG_LINES = 200

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


async def _execute(executor: Executor, document: str, variables: dict[str, Any],
                   required: tuple[str, ...] = ()) -> tuple[dict[str, Any], list[dict[str, Any]],
                                                             list[dict[str, Any]]]:
    """(data, errors, warnings) of one operation; raises ExecutorFailure without a response."""
    body = await executor(document, variables)
    errors, warnings = split_errors(body, required)
    data = body.get("data")
    return (data if isinstance(data, dict) else {}), errors, warnings


def _input(args: Mapping[str, Any], *names: str) -> dict[str, Any]:
    return {name: args[name] for name in names if args.get(name) is not None}


def _not_found(what: str, field: str) -> Outcome:
    # The API answers null for a missing object and for one the credential may not see alike.
    return failed([problem("NOT_FOUND", f"{what} not found", ["arguments", field])])


# ---------------------------------------------------------------- reads

async def list_services(executor: Executor, args: dict[str, Any]) -> Outcome:
    data, errors, warnings = await _execute(executor, doc.LIST_SERVICES, {})
    if errors:
        return failed(errors, services=[])
    services = []
    for project in data.get("projects") or []:
        for service in project.get("services") or []:
            services.append({**service, "project": {"id": project["id"], "name": project["name"]}})
    lines = [
        f"{s['project']['name']}/{(s.get('environment') or {}).get('name', '?')}/{s['name']} "
        f"({s['sourceType']}) [id {s['id']}]"
        + (f" latest #{s['latestDeployment']['number']} {s['latestDeployment']['status']}"
           if s.get("latestDeployment") else "")
        for s in services
    ]
    summary = f"{len(services)} service(s)" + ("".join("\n" + line for line in lines))
    return Outcome({"services": services}, summary, warnings=warnings)


STATUSES = ["QUEUED", "PREPARE", "DEPLOY", "FINALIZE", "COMPLETED", "FAILED"]


async def list_deployments(executor: Executor, args: dict[str, Any]) -> Outcome:
    filter_ = _input(args, "projectId", "serviceId", "environmentId", "status")
    variables = {"first": args.get("first") or 20, "after": args.get("after"), "filter": filter_ or None}
    data, errors, warnings = await _execute(executor, doc.LIST_DEPLOYMENTS, variables)
    if errors:
        return failed(errors, deployments=[])
    connection = data.get("deployments") or {}
    nodes = connection.get("nodes") or []
    page = connection.get("pageInfo") or {}
    structured = {"deployments": nodes, "totalCount": connection.get("totalCount", 0),
                  "hasNextPage": bool(page.get("hasNextPage")), "endCursor": page.get("endCursor")}
    summary = f"{len(nodes)} of {structured['totalCount']} deployment(s), newest first" + "".join(
        "\n" + describe(node) for node in nodes)
    return Outcome(structured, summary, warnings=warnings)


async def get_deployment(executor: Executor, args: dict[str, Any]) -> Outcome:
    document = doc.GET_DEPLOYMENT_WITH_VIEWS if args.get("views", True) else doc.GET_DEPLOYMENT
    data, errors, warnings = await _execute(executor, document, {"id": args["deploymentId"]})
    if errors:
        return failed(errors, deployment=None)
    deployment = data.get("deployment")
    if deployment is None:
        return _not_found("deployment", "deploymentId")
    steps = ", ".join(f"{s['kind']} {s['status']}" for s in deployment.get("steps") or [])
    summary = describe(deployment) + (f"\nsteps: {steps}" if steps else "")
    if deployment.get("error"):
        summary += f"\nerror: {deployment['error'].get('code')}: {deployment['error'].get('message')}"
    return Outcome({"deployment": deployment}, summary, warnings=warnings)


async def read_logs(executor: Executor, deployment_id: str, after_seq: int, limit: int | None,
                    tail: int | None) -> Outcome:
    """Lines with seq > after_seq: the first `limit`, or the last `tail` (read forward in
    pages: the API's log connection goes forward from a seq)."""
    kept: deque[dict[str, Any]] = deque(maxlen=tail) if tail else deque()
    after = str(after_seq) if after_seq else None
    deployment: dict[str, Any] | None = None
    has_more = False
    while True:
        size = LOG_PAGE if tail else min(LOG_PAGE, (limit or DEFAULT_LOG_LINES) - len(kept))
        data, errors, warnings = await _execute(
            executor, doc.LOGS_PAGE, {"id": deployment_id, "first": size, "after": after},
            required=("deployment.logs",))
        if errors:
            return failed(errors, lines=[])
        deployment = data.get("deployment")
        if deployment is None:
            return _not_found("deployment", "deploymentId")
        connection = deployment.pop("logs", None) or {"edges": [], "pageInfo": {}}
        kept.extend(edge["node"] for edge in connection["edges"])
        has_more = bool(connection["pageInfo"].get("hasNextPage"))
        if not has_more or (not tail and len(kept) >= (limit or DEFAULT_LOG_LINES)):
            break
        after = connection["pageInfo"]["endCursor"]
    lines = list(kept)
    last_seq = lines[-1]["seq"] if lines else (after_seq or None)
    structured = {"deployment": deployment, "lines": lines, "lastSeq": last_seq,
                  "hasMore": has_more and not tail}
    head = f"{name_of(deployment)}: {len(lines)} line(s)" + (
        f", up to seq {last_seq}" if lines else "") + (" (more after: call again with afterSeq=lastSeq)"
                                                      if structured["hasMore"] else "")
    return Outcome(structured, head + "".join("\n" + str(line["text"]) for line in lines))


async def get_logs(executor: Executor, args: dict[str, Any]) -> Outcome:
    return await read_logs(executor, args["deploymentId"], args.get("afterSeq") or 0, args.get("limit"),
                           args.get("tail"))


async def plan_deployment(executor: Executor, args: dict[str, Any]) -> Outcome:
    return await _plan(executor, args)


async def _plan(executor: Executor, args: dict[str, Any], **structured: Any) -> Outcome:
    variables = {"input": _input(args, "serviceId", "imageTag", "ref", "idempotencyKey", "reason")}
    data, errors, warnings = await _execute(executor, doc.PLAN, variables)
    if errors:
        return failed(errors, plan=None, **structured)
    plan = data.get("planDeployment")
    if plan is None:
        return _not_found("service", "serviceId")
    service = plan.get("service") or {}
    where = "/".join(str((service.get(k) or {}).get("name", "?")) for k in ("project", "environment")) + (
        f"/{service.get('name', '?')}")
    lines = [f"plan for {where}: {len(plan.get('changes') or [])} change(s), {plan.get('queueAhead')} ahead"
             + (", needs approval" if plan.get("requiresApproval") else "")]
    lines += [f"  {c['path']}: {c.get('before')!r} -> {c.get('after')!r}" for c in plan.get("changes") or []]
    lines += [f"  would supersede {name_of(d)}" for d in plan.get("wouldSupersede") or []]
    lines += [f"  refused: {p['code']}: {p['message']}" for p in plan.get("problems") or []]
    return Outcome({"plan": plan, **structured}, "\n".join(lines), warnings=warnings)


# ---------------------------------------------------------------- changes

def _unconfirmed(summary: str) -> str:
    return "Not done (call again with confirm: true to do it).\n" + summary


async def _mutate(executor: Executor, document: str, name: str, variables: dict[str, Any],
                  verb: str) -> Outcome:
    data, errors, warnings = await _execute(executor, document, variables)
    if errors:
        return failed(errors, confirmed=True, deployment=None)
    payload = data.get(name)
    refusals = user_errors(payload)
    if refusals:
        return failed(refusals, confirmed=True, deployment=None)
    deployment = (payload or {}).get("deployment")
    return Outcome({"confirmed": True, "deployment": deployment}, f"{verb} {describe(deployment or {})}",
                   warnings=warnings)


async def start_deployment(executor: Executor, args: dict[str, Any]) -> Outcome:
    if not args.get("confirm"):
        outcome = await _plan(executor, args, confirmed=False)
        outcome.summary = _unconfirmed(outcome.summary)
        return outcome
    variables = {"input": _input(args, "serviceId", "imageTag", "ref", "idempotencyKey", "reason")}
    return await _mutate(executor, doc.START, "startDeployment", variables, "Started")


async def _current(executor: Executor, args: dict[str, Any], document: str, effect: str) -> Outcome:
    data, errors, warnings = await _execute(executor, document, {"id": args["deploymentId"]})
    if errors:
        return failed(errors, confirmed=False, deployment=None)
    deployment = data.get("deployment")
    if deployment is None:
        return _not_found("deployment", "deploymentId")
    return Outcome({"confirmed": False, "deployment": deployment, "wouldDo": effect},
                   _unconfirmed(f"{describe(deployment)}\n{effect}"), warnings=warnings)


CANCEL_EFFECT = (
    "cancelDeployment concludes a QUEUED deployment FAILED/CANCELED at once and asks a running one to "
    "stop; it refuses with NOT_CANCELABLE once FINALIZE has started or the deployment has concluded."
)
ROLLBACK_EFFECT = (
    "rollbackDeployment queues a new deployment that replays the frozen input of the target "
    "(default: the last successful deployment before the current one); NO_ROLLBACK_TARGET when there is none."
)
APPROVE_EFFECT = (
    "approveDeployment records your approval; the deployment leaves the approval queue once the "
    "required number of principals other than its starter have approved."
)
REJECT_EFFECT = "rejectDeployment concludes the waiting deployment FAILED/CANCELED with your comment as the reason."


async def cancel_deployment(executor: Executor, args: dict[str, Any]) -> Outcome:
    if not args.get("confirm"):
        return await _current(executor, args, doc.GET_DEPLOYMENT, CANCEL_EFFECT)
    variables = {"input": _input(args, "deploymentId", "reason")}
    return await _mutate(executor, doc.CANCEL, "cancelDeployment", variables, "Cancel requested for")


async def rollback_deployment(executor: Executor, args: dict[str, Any]) -> Outcome:
    if args.get("confirm"):
        variables = {"input": _input(args, "serviceId", "toDeploymentId", "idempotencyKey", "reason")}
        return await _mutate(executor, doc.ROLLBACK, "rollbackDeployment", variables, "Rolling back with")
    data, errors, warnings = await _execute(executor, doc.SERVICE_OF, {"id": args["serviceId"]})
    if errors:
        return failed(errors, confirmed=False, service=None)
    service = data.get("service")
    if service is None:
        return _not_found("service", "serviceId")
    target = None
    if args.get("toDeploymentId"):
        found, errors, more = await _execute(executor, doc.GET_DEPLOYMENT, {"id": args["toDeploymentId"]})
        if errors:
            return failed(errors, confirmed=False, service=service)
        target = found.get("deployment")
        if target is None:
            return _not_found("deployment", "toDeploymentId")
        warnings += more
    latest = service.get("latestDeployment")
    lines = [f"service {service['project']['name']}/{service['environment']['name']}/{service['name']}"
             + (f", latest #{latest['number']} {latest['status']}" if latest else ", never deployed")]
    if target:
        lines.append(f"target: {describe(target)}")
    lines.append(ROLLBACK_EFFECT)
    return Outcome({"confirmed": False, "service": service, "target": target, "wouldDo": ROLLBACK_EFFECT},
                   _unconfirmed("\n".join(lines)), warnings=warnings)


async def approve_deployment(executor: Executor, args: dict[str, Any]) -> Outcome:
    if not args.get("confirm"):
        return await _current(executor, args, doc.GET_DEPLOYMENT_WITH_APPROVAL, APPROVE_EFFECT)
    variables = {"input": _input(args, "deploymentId", "comment")}
    return await _mutate(executor, doc.APPROVE, "approveDeployment", variables, "Approved")


async def reject_deployment(executor: Executor, args: dict[str, Any]) -> Outcome:
    if not args.get("confirm"):
        return await _current(executor, args, doc.GET_DEPLOYMENT_WITH_APPROVAL, REJECT_EFFECT)
    variables = {"input": _input(args, "deploymentId", "comment")}
    return await _mutate(executor, doc.REJECT, "rejectDeployment", variables, "Rejected")


# ---------------------------------------------------------------- the table

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
        _scopes("service:read"), {}, (), {"services": LIST_OF_OBJECTS}, list_services,
    ),
    ToolSpec(
        "list_deployments", "List deployments",
        "Deployments this credential may see, newest first, optionally filtered; page with `after`.",
        _scopes("deploy:read"),
        {
            "projectId": ID, "serviceId": ID, "environmentId": ID,
            "status": {"type": "array", "items": {"type": "string", "enum": STATUSES}},
            "first": {"type": "integer", "minimum": 1, "maximum": 100, "description": "default 20"},
            "after": {"type": "string", "description": "endCursor of the previous page"},
        },
        (), {"deployments": LIST_OF_OBJECTS, "totalCount": {"type": "integer"},
             "hasNextPage": {"type": "boolean"}, "endCursor": {"type": ["string", "null"]}},
        list_deployments,
    ),
    ToolSpec(
        "get_deployment", "Get a deployment",
        "One deployment's record and its three views: declaredConfig (what was selected), frozenInput "
        "(what was queued, replayable) and lastObservedState (what runs now).",
        _scopes("deploy:read"),
        {"deploymentId": ID, "views": {"type": "boolean", "description": "include the three views (default true)"}},
        ("deploymentId",), DEPLOYMENT_OUT, get_deployment,
    ),
    ToolSpec(
        "get_logs", "Get deployment logs",
        "Log lines of a deployment: the last `tail` lines, or up to `limit` lines after `afterSeq` "
        "(resume with afterSeq = lastSeq).",
        _scopes("deploy:read", "logs:read"),
        {
            "deploymentId": ID,
            "tail": {"type": "integer", "minimum": 1, "maximum": MAX_LOG_LINES},
            "afterSeq": {"type": "integer", "minimum": 0},
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LOG_LINES,
                      "description": f"default {DEFAULT_LOG_LINES}"},
        },
        ("deploymentId",),
        {"deployment": OBJECT_OR_NULL, "lines": LIST_OF_OBJECTS, "lastSeq": {"type": ["integer", "null"]},
         "hasMore": {"type": "boolean"}},
        get_logs,
    ),
    ToolSpec(
        "plan_deployment", "Plan a deployment",
        "What start_deployment would do, computed without queuing anything: changes against the live "
        "state, what it would supersede, the queue ahead, whether it needs approval, and its refusals.",
        _scopes("deploy:read"), START_INPUT, ("serviceId",), {"plan": OBJECT_OR_NULL}, plan_deployment,
    ),
    ToolSpec(
        "start_deployment", "Start a deployment",
        "Queue a deployment of a service. Without confirm: true it only returns the plan.",
        _scopes("deploy:read", "deploy:start"), {**START_INPUT, "confirm": CONFIRM}, ("serviceId",),
        CHANGE_OUT, start_deployment, read_only=False, idempotent=False,
    ),
    ToolSpec(
        "cancel_deployment", "Cancel a deployment",
        "Cancel a queued or running deployment. Without confirm: true it returns its state and what "
        "cancelling does.",
        _scopes("deploy:read", "deploy:cancel"), {"deploymentId": ID, "reason": REASON, "confirm": CONFIRM},
        ("deploymentId",), CHANGE_OUT, cancel_deployment, read_only=False, destructive=True,
    ),
    ToolSpec(
        "rollback_deployment", "Roll back a service",
        "Queue a deployment replaying an earlier successful one. Without confirm: true it returns the "
        "service, the target if named, and what rolling back does.",
        _scopes("deploy:read", "deploy:rollback"),
        {"serviceId": ID, "toDeploymentId": ID, "reason": REASON, "idempotencyKey": IDEMPOTENCY_KEY,
         "confirm": CONFIRM},
        ("serviceId",), {**CHANGE_OUT, "service": OBJECT_OR_NULL, "target": OBJECT_OR_NULL},
        rollback_deployment, read_only=False, destructive=True, idempotent=False,
    ),
    ToolSpec(
        "approve_deployment", "Approve a deployment",
        "Approve a deployment waiting for approval (not one you started). Without confirm: true it "
        "returns its approval state.",
        _scopes("deploy:read", "deploy:approve"),
        {"deploymentId": ID, "comment": STRING, "confirm": CONFIRM}, ("deploymentId",), CHANGE_OUT,
        approve_deployment, read_only=False,
    ),
    ToolSpec(
        "reject_deployment", "Reject a deployment",
        "Reject a deployment waiting for approval: it concludes CANCELED with the comment. Without "
        "confirm: true it returns its approval state.",
        _scopes("deploy:read", "deploy:approve"),
        {"deploymentId": ID, "comment": STRING, "confirm": CONFIRM}, ("deploymentId",), CHANGE_OUT,
        reject_deployment, read_only=False, destructive=True,
    ),
)

TOOLS_BY_NAME = {tool.name: tool for tool in TOOLS}


def offered(scopes: frozenset[str]) -> list[ToolSpec]:
    """The tools a credential with `scopes` is offered."""
    return [tool for tool in TOOLS if tool.scopes <= scopes]


async def viewer_scopes(executor: Executor) -> frozenset[str]:
    """The credential's effective scopes, as the API reports them (`viewer.scopes`)."""
    data, errors, _ = await _execute(executor, doc.VIEWER, {})
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
