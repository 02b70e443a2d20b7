"""cancelDeployment: queued ones conclude at once, running ones get a request, late ones are refused."""

from __future__ import annotations

import pytest

from berth.domain.cancel import cancel_deployment
from berth.domain.deployments import start_deployment
from berth.domain.errors import UserFacingError
from berth.domain.specs import StartSpec
from berth.models import Deployment, DeploymentEvent, DeploymentStep
from berth.models.enums import (
    DeploymentConclusion,
    DeploymentEventType,
    DeploymentStatus,
    StepKind,
    StepStatus,
)
from berth.models.lifecycle import StepChange, apply_change

from . import S, image_service, owner, project, row_counts, run_to, succeed


async def _started() -> Deployment:
    return await start_deployment(owner(), StartSpec(service_id=(await image_service()).id))


async def test_cancel_queued_concludes_at_once(db) -> None:
    deployment = await _started()
    canceled = await cancel_deployment(owner(), deployment.id, "wrong tag")
    assert (canceled.status, canceled.conclusion) == (DeploymentStatus.FAILED, DeploymentConclusion.CANCELED)
    assert canceled.error == {"step": None, "code": "CANCELED", "message": "canceled while queued: wrong tag"}
    assert canceled.cancel_reason == "wrong tag"
    steps = await DeploymentStep.filter(deployment_id=deployment.id)
    assert {s.status for s in steps} == {StepStatus.SKIPPED}
    with pytest.raises(UserFacingError) as caught:
        await cancel_deployment(owner(), deployment.id, None)
    assert caught.value.code == "NOT_CANCELABLE"


@pytest.mark.parametrize("status", [S.PREPARE, S.DEPLOY, S.FINALIZE])
async def test_cancel_running_records_the_request(db, status: DeploymentStatus) -> None:
    deployment = await _started()
    await run_to(deployment.id, status)
    if status == S.FINALIZE:
        # HEALTH runs in FINALIZE before the FINALIZE step: still cancelable.
        await apply_change(deployment.id, steps=[StepChange(StepKind.HEALTH, StepStatus.RUNNING)])
    requested = await cancel_deployment(owner(), deployment.id, "stop")
    assert requested.status == status and requested.conclusion is None
    assert requested.cancel_requested_at is not None
    events = await DeploymentEvent.filter(deployment_id=deployment.id).order_by("seq")
    assert events[-1].type == DeploymentEventType.CANCEL_REQUESTED
    assert events[-1].payload == {"reason": "stop"} and events[-1].status == status
    assert requested.cancel_reason == "stop"
    # Asking again changes nothing, the first reason included.
    before = await row_counts()
    again = await cancel_deployment(owner(), deployment.id, "again")
    assert again.cancel_requested_at == requested.cancel_requested_at
    assert again.cancel_reason == "stop"
    assert await row_counts() == before


async def test_finalize_step_started_is_not_cancelable(db) -> None:
    deployment = await _started()
    await run_to(deployment.id, S.FINALIZE)
    await apply_change(deployment.id, steps=[StepChange(StepKind.FINALIZE, StepStatus.RUNNING)])
    before = await row_counts()
    with pytest.raises(UserFacingError) as caught:
        await cancel_deployment(owner(), deployment.id, None)
    assert (caught.value.code, caught.value.field) == ("NOT_CANCELABLE", ["input", "deploymentId"])
    assert await row_counts() == before
    assert (await Deployment.get(id=deployment.id)).cancel_requested_at is None


async def test_concluded_is_not_cancelable(db) -> None:
    deployment = await _started()
    await succeed(deployment.id)
    with pytest.raises(UserFacingError) as caught:
        await cancel_deployment(owner(), deployment.id, None)
    assert caught.value.code == "NOT_CANCELABLE"


async def test_invisible_deployment_is_not_found(db) -> None:
    deployment = await _started()
    elsewhere = owner(project_ids=[(await project()).id])
    for pk in (deployment.id, 424242):
        with pytest.raises(UserFacingError) as caught:
            await cancel_deployment(elsewhere, pk, None)
        assert (caught.value.code, caught.value.field) == ("NOT_FOUND", ["input", "deploymentId"])
    assert (await Deployment.get(id=deployment.id)).status == DeploymentStatus.QUEUED


async def test_running_cancel_reason_stays_after_the_runner_concludes(db) -> None:
    deployment = await _started()
    await run_to(deployment.id, S.DEPLOY)
    await cancel_deployment(owner(), deployment.id, "wrong branch")
    await apply_change(
        deployment.id,
        from_status=S.DEPLOY,
        to_status=S.FAILED,
        conclusion=DeploymentConclusion.CANCELED,
        error={"step": "START", "code": "CANCELED", "message": "canceled"},
    )
    concluded = await Deployment.get(id=deployment.id)
    assert concluded.conclusion == DeploymentConclusion.CANCELED
    assert concluded.cancel_reason == "wrong branch"
    requested = await DeploymentEvent.get(deployment_id=deployment.id, type=DeploymentEventType.CANCEL_REQUESTED)
    assert requested.payload == {"reason": "wrong branch"}


async def test_cancel_without_reason_stores_none(db) -> None:
    deployment = await _started()
    await run_to(deployment.id, S.PREPARE)
    requested = await cancel_deployment(owner(), deployment.id, None)
    assert requested.cancel_requested_at is not None and requested.cancel_reason is None
