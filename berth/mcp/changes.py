"""The tools that change something, each behind `confirm`.

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

from typing import Any

from berth.mcp import documents as doc
from berth.mcp.executor import Executor
from berth.mcp.operations import execute, input_of, not_found
from berth.mcp.outcomes import Outcome, describe, failed, user_errors
from berth.mcp.reads import plan


def _unconfirmed(summary: str) -> str:
    return "Not done (call again with confirm: true to do it).\n" + summary


async def _mutate(executor: Executor, document: str, name: str, variables: dict[str, Any],
                  verb: str) -> Outcome:
    data, errors, warnings = await execute(executor, document, variables)
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
        outcome = await plan(executor, args, confirmed=False)
        outcome.summary = _unconfirmed(outcome.summary)
        return outcome
    variables = {"input": input_of(args, "serviceId", "imageTag", "ref", "idempotencyKey", "reason")}
    return await _mutate(executor, doc.START, "startDeployment", variables, "Started")


async def _current(executor: Executor, args: dict[str, Any], document: str, effect: str) -> Outcome:
    data, errors, warnings = await execute(executor, document, {"id": args["deploymentId"]})
    if errors:
        return failed(errors, confirmed=False, deployment=None)
    deployment = data.get("deployment")
    if deployment is None:
        return not_found("deployment", "deploymentId")
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
    variables = {"input": input_of(args, "deploymentId", "reason")}
    return await _mutate(executor, doc.CANCEL, "cancelDeployment", variables, "Cancel requested for")


async def rollback_deployment(executor: Executor, args: dict[str, Any]) -> Outcome:
    if args.get("confirm"):
        variables = {"input": input_of(args, "serviceId", "toDeploymentId", "idempotencyKey", "reason")}
        return await _mutate(executor, doc.ROLLBACK, "rollbackDeployment", variables, "Rolling back with")
    data, errors, warnings = await execute(executor, doc.SERVICE_OF, {"id": args["serviceId"]})
    if errors:
        return failed(errors, confirmed=False, service=None)
    service = data.get("service")
    if service is None:
        return not_found("service", "serviceId")
    target = None
    if args.get("toDeploymentId"):
        found, errors, more = await execute(executor, doc.GET_DEPLOYMENT, {"id": args["toDeploymentId"]})
        if errors:
            return failed(errors, confirmed=False, service=service)
        target = found.get("deployment")
        if target is None:
            return not_found("deployment", "toDeploymentId")
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
    variables = {"input": input_of(args, "deploymentId", "comment")}
    return await _mutate(executor, doc.APPROVE, "approveDeployment", variables, "Approved")


async def reject_deployment(executor: Executor, args: dict[str, Any]) -> Outcome:
    if not args.get("confirm"):
        return await _current(executor, args, doc.GET_DEPLOYMENT_WITH_APPROVAL, REJECT_EFFECT)
    variables = {"input": input_of(args, "deploymentId", "comment")}
    return await _mutate(executor, doc.REJECT, "rejectDeployment", variables, "Rejected")
