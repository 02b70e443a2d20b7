"""Canceling a deployment (CONTRACT §3).

A QUEUED deployment concludes FAILED/CANCELED at once. A running one gets
`cancelRequestedAt` and a CANCEL_REQUESTED event; the runner watches for it and stops.
Once the FINALIZE step has started (HEALTH, which runs in status FINALIZE before it, can
still be canceled), or once concluded, the answer is NOT_CANCELABLE.

The decision is taken under the deployment's row lock (PostgreSQL; SQLite serialises
writers anyway), and the runner's lifecycle changes take that lock first too, so the step
status we look at cannot change between the check and the request.
"""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from berth.auth.principal import Principal
from berth.domain.deployments import check_reason, wake_after_commit
from berth.domain.errors import ErrorList, UserErrorCode, UserFacingError, not_found
from berth.domain.queries import get_visible
from berth.models import Deployment, DeploymentStep
from berth.models.enums import DeploymentConclusion, DeploymentStatus, ErrorCode, StepKind, StepStatus
from berth.models.lifecycle import TERMINAL_STATUSES, ChangeResult, apply_change, conclude_from_queue
from berth.models.sql import CONNECTION

FIELD = ["input", "deploymentId"]


def _not_cancelable(message: str) -> UserFacingError:
    return UserFacingError(UserErrorCode.NOT_CANCELABLE, message, FIELD)


def _queued_error(reason: str | None) -> dict[str, Any]:
    message = "canceled while queued" + (f": {reason}" if reason else "")
    return {"step": None, "code": str(ErrorCode.CANCELED), "message": message}


async def _cancel_locked(deployment_id: int, reason: str | None) -> ChangeResult | None:
    """Apply the cancel under the row lock; None when there was nothing to change."""
    async with in_transaction(CONNECTION) as conn:
        current = await Deployment.filter(id=deployment_id).select_for_update(no_key=True).using_db(conn).get()
        if current.status in TERMINAL_STATUSES:
            raise _not_cancelable("the deployment has concluded")
        if current.status == DeploymentStatus.QUEUED:
            return await conclude_from_queue(
                deployment_id, DeploymentConclusion.CANCELED, _queued_error(reason), cancel_reason=reason
            )
        if current.cancel_requested_at is not None:
            return None  # already requested: asking again changes nothing
        if current.status == DeploymentStatus.FINALIZE:
            finalize = await DeploymentStep.filter(
                deployment_id=deployment_id, kind=StepKind.FINALIZE
            ).using_db(conn).get()
            if finalize.status != StepStatus.PENDING:
                raise _not_cancelable("the FINALIZE step has started")
        # Guarded on the status we saw: it cannot have moved, we hold the lock.
        return await apply_change(
            deployment_id, from_status=current.status, cancel_requested=True, cancel_reason=reason
        )


async def cancel_deployment(
    principal: Principal, deployment_id: int, reason: str | None = None
) -> Deployment:
    deployment = await get_visible(principal, Deployment, deployment_id)
    if deployment is None:
        raise not_found("deployment", FIELD)
    errors = ErrorList()
    check_reason(errors, reason)
    errors.raise_if_any()
    result = await _cancel_locked(deployment_id, reason)
    if result is not None:
        await wake_after_commit(deployment_id, result.last_event_seq)
    return await Deployment.get(id=deployment_id)


async def cancel_for_teardown(deployment_id: int, reason: str) -> bool:
    """Cancel a deployment whose preview is being torn down (no caller to check: the
    preview's closing decided it). False when it can no longer be canceled (concluded, or
    FINALIZE started: it ends by itself, and the teardown waits for that)."""
    try:
        result = await _cancel_locked(deployment_id, reason)
    except UserFacingError:
        return False
    if result is not None:
        await wake_after_commit(deployment_id, result.last_event_seq)
    return True
