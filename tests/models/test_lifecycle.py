"""The lifecycle rules on both databases: legal moves, refused moves, one event per change."""

from __future__ import annotations

import pytest

from berth.models import Deployment, DeploymentEvent, DeploymentStep, LogLine
from berth.models.enums import (
    STEP_ORDER,
    DeploymentConclusion,
    DeploymentEventType,
    DeploymentStatus,
    LogStream,
    StepKind,
    StepStatus,
)
from berth.models.lifecycle import (
    LogEntry,
    StepChange,
    TransitionRefused,
    append_logs,
    apply_change,
    conclude_from_queue,
)
from tests.models.factories import make_deployment, make_service

S = DeploymentStatus


async def events_of(deployment_id: int) -> list[DeploymentEvent]:
    return await DeploymentEvent.filter(deployment_id=deployment_id).order_by("seq")


async def test_created_deployment_has_seven_pending_steps_and_one_event(db) -> None:
    deployment = await make_deployment(await make_service())
    steps = await DeploymentStep.filter(deployment_id=deployment.id).order_by("position")
    assert [s.kind for s in steps] == list(STEP_ORDER)
    assert {s.status for s in steps} == {StepStatus.PENDING}
    events = await events_of(deployment.id)
    assert [(e.seq, e.type, e.status) for e in events] == [(1, DeploymentEventType.CREATED, S.QUEUED)]


async def test_full_successful_path_writes_one_event_per_change(db) -> None:
    d = await make_deployment(await make_service())
    await apply_change(
        d.id,
        from_status=S.QUEUED,
        to_status=S.PREPARE,
        steps=[StepChange(StepKind.CLONE, StepStatus.SKIPPED), StepChange(StepKind.PULL, StepStatus.RUNNING)],
    )
    await apply_change(d.id, steps=[StepChange(StepKind.PULL, StepStatus.SUCCEEDED, "sha256:abc")])
    await apply_change(d.id, from_status=S.PREPARE, to_status=S.DEPLOY)
    await apply_change(d.id, from_status=S.DEPLOY, to_status=S.FINALIZE)
    result = await apply_change(
        d.id, from_status=S.FINALIZE, to_status=S.COMPLETED, conclusion=DeploymentConclusion.SUCCEEDED
    )
    assert result.status == S.COMPLETED
    events = await events_of(d.id)
    assert [e.seq for e in events] == list(range(1, 10))
    assert [e.type for e in events] == [
        DeploymentEventType.CREATED,
        DeploymentEventType.STATUS_CHANGED,
        DeploymentEventType.STEP_CHANGED,
        DeploymentEventType.STEP_CHANGED,
        DeploymentEventType.STEP_CHANGED,
        DeploymentEventType.STATUS_CHANGED,
        DeploymentEventType.STATUS_CHANGED,
        DeploymentEventType.STATUS_CHANGED,
        DeploymentEventType.CONCLUDED,
    ]
    assert events[-1].status == S.COMPLETED and events[-1].conclusion == DeploymentConclusion.SUCCEEDED
    assert events[4].step["kind"] == "PULL" and events[4].step["status"] == "SUCCEEDED"
    assert events[4].step["detail"] == "sha256:abc"
    stored = await Deployment.get(id=d.id)
    assert stored.started_at is not None and stored.concluded_at is not None
    pull = await DeploymentStep.get(deployment_id=d.id, kind=StepKind.PULL)
    assert pull.started_at is not None and pull.completed_at is not None


@pytest.mark.parametrize(
    ("source", "target", "conclusion"),
    [
        (S.QUEUED, S.DEPLOY, None),
        (S.QUEUED, S.COMPLETED, DeploymentConclusion.SUCCEEDED),
        (S.PREPARE, S.COMPLETED, DeploymentConclusion.SUCCEEDED),
        (S.FINALIZE, S.COMPLETED, DeploymentConclusion.CANCELED),
        (S.DEPLOY, S.FAILED, DeploymentConclusion.SUCCEEDED),
        (S.DEPLOY, S.PREPARE, None),
        (S.COMPLETED, S.FAILED, DeploymentConclusion.FAILED),
    ],
)
async def test_illegal_moves_are_refused_and_write_nothing(db, source, target, conclusion) -> None:
    d = await make_deployment(await make_service())
    with pytest.raises(TransitionRefused):
        await apply_change(d.id, from_status=source, to_status=target, conclusion=conclusion)
    assert (await Deployment.get(id=d.id)).status == S.QUEUED
    assert len(await events_of(d.id)) == 1


async def test_a_guard_on_the_wrong_current_status_is_refused(db) -> None:
    d = await make_deployment(await make_service())
    await apply_change(d.id, from_status=S.QUEUED, to_status=S.PREPARE)
    # A second writer that still believes the deployment is QUEUED loses.
    with pytest.raises(TransitionRefused):
        await apply_change(d.id, from_status=S.QUEUED, to_status=S.PREPARE)
    assert len(await events_of(d.id)) == 2


async def test_concluded_deployment_cannot_change_again(db) -> None:
    d = await make_deployment(await make_service())
    await conclude_from_queue(d.id, DeploymentConclusion.CANCELED)
    before = await events_of(d.id)
    with pytest.raises(TransitionRefused):
        await apply_change(
            d.id, from_status=S.FAILED, to_status=S.COMPLETED, conclusion=DeploymentConclusion.SUCCEEDED
        )
    with pytest.raises(TransitionRefused):
        await apply_change(d.id, steps=[StepChange(StepKind.START, StepStatus.RUNNING)])
    with pytest.raises(TransitionRefused):
        await apply_change(d.id, cancel_requested=True)
    with pytest.raises(TransitionRefused):
        await append_logs(d.id, [LogEntry("late")])
    assert len(await events_of(d.id)) == len(before)
    stored = await Deployment.get(id=d.id)
    assert (stored.status, stored.conclusion) == (S.FAILED, DeploymentConclusion.CANCELED)


async def test_conclusion_from_queue_skips_all_steps_and_ends_with_concluded(db) -> None:
    d = await make_deployment(await make_service())
    await conclude_from_queue(d.id, DeploymentConclusion.SKIPPED)
    steps = await DeploymentStep.filter(deployment_id=d.id)
    assert {s.status for s in steps} == {StepStatus.SKIPPED}
    events = await events_of(d.id)
    assert [e.type for e in events].count(DeploymentEventType.STEP_CHANGED) == 7
    assert events[-1].type == DeploymentEventType.CONCLUDED
    assert events[-1].conclusion == DeploymentConclusion.SKIPPED
    assert (await Deployment.get(id=d.id)).status == S.COMPLETED


async def test_illegal_step_moves_roll_back_the_whole_change(db) -> None:
    d = await make_deployment(await make_service())
    with pytest.raises(TransitionRefused):
        # PENDING → SUCCEEDED skips RUNNING: the status move in the same change must not stick.
        await apply_change(
            d.id,
            from_status=S.QUEUED,
            to_status=S.PREPARE,
            steps=[StepChange(StepKind.PULL, StepStatus.SUCCEEDED)],
        )
    assert (await Deployment.get(id=d.id)).status == S.QUEUED
    assert len(await events_of(d.id)) == 1


async def test_attempt_fences_a_stale_runner(db) -> None:
    d = await make_deployment(await make_service())
    await Deployment.filter(id=d.id).update(attempt=2)
    with pytest.raises(TransitionRefused):
        await apply_change(d.id, from_status=S.QUEUED, to_status=S.PREPARE, attempt=1)
    await apply_change(d.id, from_status=S.QUEUED, to_status=S.PREPARE, attempt=2)
    with pytest.raises(TransitionRefused):
        await append_logs(d.id, [LogEntry("from the old runner")], attempt=1)


async def test_log_lines_get_gap_free_seq(db) -> None:
    d = await make_deployment(await make_service())
    last = await append_logs(d.id, [LogEntry(f"line {i}", LogStream.STDOUT, StepKind.PULL) for i in range(5)])
    assert last == 5
    assert await append_logs(d.id, [LogEntry("more")]) == 6
    lines = await LogLine.filter(deployment_id=d.id).order_by("seq")
    assert [line.seq for line in lines] == [1, 2, 3, 4, 5, 6]
    assert lines[0].step == StepKind.PULL and lines[0].stream == LogStream.STDOUT


async def test_cancel_request_records_time_and_event(db) -> None:
    d = await make_deployment(await make_service())
    await apply_change(d.id, from_status=S.QUEUED, to_status=S.PREPARE)
    await apply_change(d.id, cancel_requested=True, cancel_reason="wrong tag")
    stored = await Deployment.get(id=d.id)
    assert stored.cancel_requested_at is not None
    last = (await events_of(d.id))[-1]
    assert last.type == DeploymentEventType.CANCEL_REQUESTED and last.payload == {"reason": "wrong tag"}
