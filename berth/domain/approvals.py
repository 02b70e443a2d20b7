"""Protected environments: approving and rejecting deployments that wait for approval.

A deployment into an environment with `requiredApprovals` > 0 is queued with its approval
PENDING and that number frozen (`berth.domain.deployments.queue_decision`). While PENDING it
stays QUEUED outside the queue: the runner does not claim it, it has no queue position and
it supersedes nothing. It becomes APPROVED once that many distinct principals other than its
starter (by subject) approve; the same principal approving again counts once and changes
nothing. Then it joins the queue at its place by creation time and, as if it had been
started at that moment, supersedes the older QUEUED deployments of its lane. A rejection
(comment required) concludes it FAILED/CANCELED at once, with the comment as its cancel
reason and error message, and the approval REJECTED: it is a person stopping it, as a cancel
is, not a failure of the work.

Each decision is an immutable `ApprovalDecision` row plus an APPROVAL_DECIDED event on the
deployment's stream, written in one transaction under the server's then the deployment's
row lock (the lock order of `enqueue` and the runner's claims), so a claim, a cancel or a
second decision cannot interleave with the check of the state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from berth.auth.principal import Principal
from berth.domain.deployments import wake_after_commit
from berth.domain.errors import ErrorList, UserErrorCode, UserFacingError, not_found
from berth.domain.limits import MAX_REASON
from berth.domain.queries import get_visible
from berth.models import ApprovalDecision, Deployment, Server
from berth.models.enums import (
    ApprovalState,
    DeploymentConclusion,
    DeploymentEventType,
    DeploymentStatus,
    ErrorCode,
)
from berth.models.lifecycle import TransitionRefused, apply_change, conclude_from_queue, now
from berth.models.sql import CONNECTION

FIELD = ["input", "deploymentId"]
COMMENT_FIELD = ["input", "comment"]


@dataclass(frozen=True)
class Decision:
    actor: dict[str, Any]
    approved: bool
    comment: str | None
    at: datetime


@dataclass(frozen=True)
class Approval:
    """`Deployment.approval`: the state, the frozen count, and every decision in order."""

    state: ApprovalState
    required: int
    decisions: list[Decision]


def deployment_label(row: Deployment) -> str:
    """`project/env/service #N`, from the names recorded when it was queued."""
    target = (row.declared_config or {}).get("target", {}) if isinstance(row.declared_config, dict) else {}

    def name(key: str) -> str:
        return str((target.get(key) or {}).get("name") or "?")

    return f"{name('project')}/{name('environment')}/{name('service')} #{row.number}"


def approval_of(row: Deployment, decisions: list[ApprovalDecision]) -> Approval:
    return Approval(
        state=ApprovalState(row.approval_state),
        required=row.approvals_required,
        decisions=[
            Decision(actor=d.actor, approved=d.approved, comment=d.comment, at=d.at)
            for d in sorted(decisions, key=lambda d: d.id)
        ],
    )


def _check_comment(errors: ErrorList, comment: str | None, required: bool) -> None:
    # Stored as it is and shown to everyone who reads the deployment: bounded, no NUL.
    if required and (comment is None or not comment.strip()):
        errors.add(COMMENT_FIELD, "comment is required to reject a deployment: say why")
    elif comment is not None and (len(comment) > MAX_REASON or "\x00" in comment):
        errors.add(COMMENT_FIELD, f"comment must be at most {MAX_REASON} characters without NUL")


def _rejected_error(comment: str) -> dict[str, Any]:
    return {"step": None, "code": str(ErrorCode.CANCELED), "message": f"rejected: {comment}"}


async def _older_in_lane(conn: Any, row: Deployment) -> list[int]:
    """QUEUED deployments of the same lane created before `row`: an approval supersedes them."""
    older = await Deployment.filter(
        service_id=row.service_id,  # type: ignore[attr-defined]
        preview_id=row.preview_id,
        status=DeploymentStatus.QUEUED,
    ).using_db(conn).order_by("created_at", "id").values_list("id", "created_at")
    return [int(pk) for pk, created in older if (created, int(pk)) < (row.created_at, row.id)]


async def _decide_locked(principal: Principal, deployment: Deployment, approved: bool,
                         comment: str | None) -> list[tuple[int, int]]:
    """The decision under the locks; (deployment id, last event seq) of what changed."""
    changed: list[tuple[int, int]] = []
    async with in_transaction(CONNECTION) as conn:
        await Server.filter(id=deployment.server_id).select_for_update(no_key=True).using_db(conn).get()  # type: ignore[attr-defined]
        current = await Deployment.filter(id=deployment.id).select_for_update(no_key=True).using_db(conn).get()
        label = deployment_label(current)
        if current.status != DeploymentStatus.QUEUED or current.approval_state != ApprovalState.PENDING:
            state = "concluded" if current.status != DeploymentStatus.QUEUED else "queued"
            raise UserFacingError(
                UserErrorCode.CONFLICT,
                f"{label} is not waiting for approval (it is {state}, approval {current.approval_state})",
                FIELD,
            )
        if approved and (current.actor or {}).get("subject") == principal.subject:
            raise UserFacingError(
                UserErrorCode.SELF_APPROVAL,
                f"{label} was started by this principal; someone else must approve it",
                FIELD,
            )
        decisions = await ApprovalDecision.filter(deployment_id=current.id).using_db(conn)
        approvers = {d.subject for d in decisions if d.approved}
        if approved and principal.subject in approvers:
            return changed  # the same principal counts once: nothing changes
        moment = now()
        await ApprovalDecision.create(
            using_db=conn, deployment_id=current.id, subject=principal.subject, actor=principal.actor(),
            approved=approved, comment=comment, at=moment,
        )
        approvals = len(approvers | {principal.subject}) if approved else len(approvers)
        if not approved:
            state_after = ApprovalState.REJECTED
        elif approvals >= current.approvals_required:
            state_after = ApprovalState.APPROVED
        else:
            state_after = ApprovalState.PENDING
        payload = {
            "approved": approved, "comment": comment, "actor": principal.actor(),
            "approvals": approvals, "required": current.approvals_required, "state": str(state_after),
        }
        event = [(DeploymentEventType.APPROVAL_DECIDED, payload)]
        updates = {"approval_state": state_after}
        if approved:
            result = await apply_change(
                current.id, from_status=DeploymentStatus.QUEUED, leading_events=event, updates=updates
            )
        else:
            assert comment is not None  # checked before
            result = await conclude_from_queue(
                current.id, DeploymentConclusion.CANCELED, _rejected_error(comment),
                cancel_reason=comment, leading_events=event, updates=updates,
            )
        changed.append((current.id, result.last_event_seq))
        if state_after == ApprovalState.APPROVED:
            # As if started now: the older QUEUED work of its lane is superseded.
            for older_id in await _older_in_lane(conn, current):
                try:
                    skipped = await conclude_from_queue(older_id, DeploymentConclusion.SKIPPED)
                except TransitionRefused:
                    continue  # a runner claimed it meanwhile: it runs
                changed.append((older_id, skipped.last_event_seq))
    return changed


async def decide_deployment(principal: Principal, deployment_id: int, *, approved: bool,
                            comment: str | None) -> Deployment:
    """approveDeployment (`approved`) and rejectDeployment."""
    deployment = await get_visible(principal, Deployment, deployment_id)
    if deployment is None:
        raise not_found("deployment", FIELD)
    errors = ErrorList()
    _check_comment(errors, comment, required=not approved)
    errors.raise_if_any()
    for changed_id, event_seq in await _decide_locked(principal, deployment, approved, comment):
        # Woken after our commit: the changes were made inside our transaction.
        await wake_after_commit(changed_id, event_seq)
    return await Deployment.get(id=deployment_id)


async def approvals_of(rows: list[Deployment]) -> dict[int, Approval]:
    """`Deployment.approval` for many deployments: one query for their decisions."""
    ids = [row.id for row in rows if row.approval_state != ApprovalState.NOT_REQUIRED]
    grouped: dict[int, list[ApprovalDecision]] = {row.id: [] for row in rows}
    if ids:
        for decision in await ApprovalDecision.filter(deployment_id__in=ids).order_by("id"):
            grouped[decision.deployment_id].append(decision)  # type: ignore[attr-defined]
    return {row.id: approval_of(row, grouped[row.id]) for row in rows}
