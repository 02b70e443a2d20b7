"""The tools that only read: services, deployments, a deployment with its views, logs, plans."""

from __future__ import annotations

from collections import deque
from typing import Any

from berth.mcp import documents as doc
from berth.mcp.executor import Executor
from berth.mcp.operations import execute, input_of, not_found
from berth.mcp.outcomes import Outcome, describe, failed, name_of

LOG_PAGE = 100
MAX_LOG_LINES = 1000
DEFAULT_LOG_LINES = 200
STATUSES = ["QUEUED", "PREPARE", "DEPLOY", "FINALIZE", "COMPLETED", "FAILED"]


async def list_services(executor: Executor, args: dict[str, Any]) -> Outcome:
    data, errors, warnings = await execute(executor, doc.LIST_SERVICES, {})
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


async def list_deployments(executor: Executor, args: dict[str, Any]) -> Outcome:
    filter_ = input_of(args, "projectId", "serviceId", "environmentId", "status")
    variables = {"first": args.get("first") or 20, "after": args.get("after"), "filter": filter_ or None}
    data, errors, warnings = await execute(executor, doc.LIST_DEPLOYMENTS, variables)
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
    data, errors, warnings = await execute(executor, document, {"id": args["deploymentId"]})
    if errors:
        return failed(errors, deployment=None)
    deployment = data.get("deployment")
    if deployment is None:
        return not_found("deployment", "deploymentId")
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
        data, errors, warnings = await execute(
            executor, doc.LOGS_PAGE, {"id": deployment_id, "first": size, "after": after},
            required=("deployment.logs",))
        if errors:
            return failed(errors, lines=[])
        deployment = data.get("deployment")
        if deployment is None:
            return not_found("deployment", "deploymentId")
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
    return await plan(executor, args)


async def plan(executor: Executor, args: dict[str, Any], **structured: Any) -> Outcome:
    """`planDeployment` for a start_deployment input (also start_deployment's answer without confirm)."""
    variables = {"input": input_of(args, "serviceId", "imageTag", "ref", "idempotencyKey", "reason")}
    data, errors, warnings = await execute(executor, doc.PLAN, variables)
    if errors:
        return failed(errors, plan=None, **structured)
    plan = data.get("planDeployment")
    if plan is None:
        return not_found("service", "serviceId")
    service = plan.get("service") or {}
    where = "/".join(str((service.get(k) or {}).get("name", "?")) for k in ("project", "environment")) + (
        f"/{service.get('name', '?')}")
    lines = [f"plan for {where}: {len(plan.get('changes') or [])} change(s), {plan.get('queueAhead')} ahead"
             + (", needs approval" if plan.get("requiresApproval") else "")]
    lines += [f"  {c['path']}: {c.get('before')!r} -> {c.get('after')!r}" for c in plan.get("changes") or []]
    lines += [f"  would supersede {name_of(d)}" for d in plan.get("wouldSupersede") or []]
    lines += [f"  refused: {p['code']}: {p['message']}" for p in plan.get("problems") or []]
    return Outcome({"plan": plan, **structured}, "\n".join(lines), warnings=warnings)
