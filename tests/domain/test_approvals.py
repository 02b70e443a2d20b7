"""Protected environments: deployments wait for approval outside the queue (berth.domain.approvals)."""

from __future__ import annotations

import pytest

from berth.auth.principal import Principal
from berth.domain.approvals import approvals_of, decide_deployment
from berth.domain.cancel import cancel_deployment
from berth.domain.deployments import start_deployment
from berth.domain.environments import update_environment
from berth.domain.errors import InvalidInput, UserFacingError
from berth.domain.git_events import PullRequestAction, PullRequestEvent, PushEvent
from berth.domain.inventory import create_service
from berth.domain.previews import handle_pull_request
from berth.domain.queries import queue_position
from berth.domain.rollback import rollback_deployment
from berth.domain.secrets import encrypt
from berth.domain.specs import EnvironmentUpdateSpec, RollbackSpec, ServiceSpec, SourceSpec, StartSpec
from berth.domain.webhooks import dispatch
from berth.models import ApprovalDecision, Deployment, DeploymentEvent, DeploymentStep, Environment, Service
from berth.models.enums import (
    ApprovalState,
    DeploymentConclusion,
    DeploymentEventType,
    DeploymentStatus,
    GitProvider,
    Role,
    SourceType,
    StepStatus,
    WebhookOutcome,
)
from berth.models.git import GitHook
from berth.models.lifecycle import now
from berth.runner.claims import claim_next
from tests.support.names import unique

from . import image_service, owner, project, row_counts, server, succeed

A = ApprovalState


def starter() -> Principal:
    return owner(token_id=11, role=Role.OPERATOR)


def approver(n: int = 21) -> Principal:
    return owner(token_id=n, role=Role.OPERATOR)


async def protect(service: Service, required: int) -> None:
    spec = EnvironmentUpdateSpec(environment_id=service.environment_id, required_approvals=required)  # type: ignore[attr-defined]
    await update_environment(owner(), spec)


async def start(service: Service, who: Principal | None = None) -> Deployment:
    return await start_deployment(who or starter(), StartSpec(service_id=service.id))


async def claimed_ids(runner: str = "runner-test") -> list[int]:
    """Claim everything claimable now (leases are long: nothing is reclaimed meanwhile)."""
    ids = []
    while (claim := await claim_next(runner, 3600)) is not None:
        ids.append(claim.deployment_id)
    return ids


async def test_a_protected_start_waits_outside_the_queue(db) -> None:
    service = await image_service()
    await protect(service, 1)
    waiting = await start(service)
    assert (waiting.status, waiting.approval_state, waiting.approvals_required) == (
        DeploymentStatus.QUEUED, A.PENDING, 1)
    assert await queue_position(waiting) is None
    assert await claimed_ids() == []
    # The count is frozen: a later change of the environment does not move it.
    await protect(service, 3)
    assert (await Deployment.get(id=waiting.id)).approvals_required == 1
    approval = (await approvals_of([waiting]))[waiting.id]
    assert (approval.state, approval.required, approval.decisions) == (A.PENDING, 1, [])


async def test_unprotected_deployments_need_no_approval(db) -> None:
    service = await image_service()
    deployment = await start(service)
    assert (deployment.approval_state, deployment.approvals_required) == (A.NOT_REQUIRED, 0)
    assert await queue_position(deployment) == 1
    with pytest.raises(UserFacingError) as caught:
        await decide_deployment(approver(), deployment.id, approved=True, comment=None)
    assert (caught.value.code, caught.value.field) == ("CONFLICT", ["input", "deploymentId"])
    assert "not waiting for approval" in caught.value.message


async def test_pending_work_neither_supersedes_nor_blocks_queued_work(db) -> None:
    target = await server(max_concurrent_deployments=5)
    service = await image_service(target)
    other = await image_service(target)
    queued = await start(service)
    await protect(service, 1)
    pending = await start(service)
    # The older, unprotected one is still queued, first in the queue; the pending one has no place.
    assert (await Deployment.get(id=queued.id)).status == DeploymentStatus.QUEUED
    elsewhere = await start(other)
    assert await queue_position(await Deployment.get(id=elsewhere.id)) == 2
    assert await queue_position(pending) is None
    assert sorted(await claimed_ids()) == sorted([queued.id, elsewhere.id])
    assert (await Deployment.get(id=pending.id)).claimed_by is None


async def test_the_starter_cannot_approve_and_one_principal_counts_once(db) -> None:
    service = await image_service()
    await protect(service, 2)
    pending = await start(service)
    before = await row_counts()
    with pytest.raises(UserFacingError) as caught:
        await decide_deployment(starter(), pending.id, approved=True, comment=None)
    assert (caught.value.code, caught.value.field) == ("SELF_APPROVAL", ["input", "deploymentId"])
    assert f"#{pending.number}" in caught.value.message and "/production/" in caught.value.message
    assert await row_counts() == before and await ApprovalDecision.all().count() == 0

    first = await decide_deployment(approver(21), pending.id, approved=True, comment="fine by me")
    assert first.approval_state == A.PENDING
    again = await decide_deployment(approver(21), pending.id, approved=True, comment="twice")
    assert again.approval_state == A.PENDING
    assert await ApprovalDecision.filter(deployment_id=pending.id).count() == 1
    assert await claimed_ids() == []

    done = await decide_deployment(approver(22), pending.id, approved=True, comment=None)
    assert (done.approval_state, done.status) == (A.APPROVED, DeploymentStatus.QUEUED)
    approval = (await approvals_of([done]))[done.id]
    assert [(d.actor["subject"], d.approved, d.comment) for d in approval.decisions] == [
        ("token-21", True, "fine by me"), ("token-22", True, None)]
    assert await queue_position(done) == 1
    assert await claimed_ids() == [done.id]
    # Every decision is an event on the deployment's stream.
    events = await DeploymentEvent.filter(
        deployment_id=pending.id, type=DeploymentEventType.APPROVAL_DECIDED
    ).order_by("seq")
    assert [(e.payload["approvals"], e.payload["state"], e.status) for e in events] == [
        (1, "PENDING", DeploymentStatus.QUEUED), (2, "APPROVED", DeploymentStatus.QUEUED)]
    assert events[0].payload["actor"]["subject"] == "token-21"
    with pytest.raises(UserFacingError) as late:
        await decide_deployment(approver(23), pending.id, approved=True, comment=None)
    assert late.value.code == "CONFLICT"


async def test_an_approval_supersedes_older_queued_work_of_its_lane(db) -> None:
    service = await image_service()
    older = await start(service)
    await protect(service, 1)
    pending = await start(service)
    await decide_deployment(approver(), pending.id, approved=True, comment=None)
    skipped = await Deployment.get(id=older.id)
    assert (skipped.status, skipped.conclusion) == (DeploymentStatus.COMPLETED, DeploymentConclusion.SKIPPED)
    assert await claimed_ids() == [pending.id]


async def test_an_unprotected_start_supersedes_pending_ones_of_its_lane(db) -> None:
    service = await image_service()
    await protect(service, 1)
    pending = await start(service)
    await protect(service, 0)
    newer = await start(service)
    skipped = await Deployment.get(id=pending.id)
    assert (skipped.status, skipped.conclusion) == (DeploymentStatus.COMPLETED, DeploymentConclusion.SKIPPED)
    assert await claimed_ids() == [newer.id]


async def test_rejection_concludes_it_with_the_comment(db) -> None:
    service = await image_service()
    await protect(service, 1)
    pending = await start(service)
    before = await row_counts()
    for comment in (None, "   "):
        with pytest.raises(InvalidInput) as caught:
            await decide_deployment(approver(), pending.id, approved=False, comment=comment)
        assert [e.field for e in caught.value.errors] == [["input", "comment"]]
    with pytest.raises(InvalidInput):
        await decide_deployment(approver(), pending.id, approved=False, comment="x" * 5000)
    assert await row_counts() == before

    rejected = await decide_deployment(approver(), pending.id, approved=False, comment="not on a Friday")
    assert (rejected.status, rejected.conclusion, rejected.approval_state) == (
        DeploymentStatus.FAILED, DeploymentConclusion.CANCELED, A.REJECTED)
    assert rejected.cancel_reason == "not on a Friday"
    assert rejected.error == {"step": None, "code": "CANCELED", "message": "rejected: not on a Friday"}
    assert {s.status for s in await DeploymentStep.filter(deployment_id=pending.id)} == {StepStatus.SKIPPED}
    events = await DeploymentEvent.filter(deployment_id=pending.id).order_by("seq")
    types = [e.type for e in events]
    assert types[0] == DeploymentEventType.CREATED and types[1] == DeploymentEventType.APPROVAL_DECIDED
    assert types[-1] == DeploymentEventType.CONCLUDED
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[1].payload["approved"] is False and events[1].payload["comment"] == "not on a Friday"
    with pytest.raises(UserFacingError) as again:
        await decide_deployment(approver(22), pending.id, approved=True, comment=None)
    assert again.value.code == "CONFLICT" and "concluded" in again.value.message


async def test_a_pending_deployment_cancels_like_any_queued_one(db) -> None:
    service = await image_service()
    await protect(service, 1)
    pending = await start(service)
    canceled = await cancel_deployment(owner(), pending.id, "changed my mind")
    assert (canceled.status, canceled.conclusion) == (DeploymentStatus.FAILED, DeploymentConclusion.CANCELED)
    assert canceled.approval_state == A.PENDING  # nobody decided
    with pytest.raises(UserFacingError) as caught:
        await decide_deployment(approver(), pending.id, approved=True, comment=None)
    assert caught.value.code == "CONFLICT"


async def test_rollbacks_into_a_protected_environment_wait_too(db) -> None:
    service = await image_service()
    first = await start(service)
    await succeed(first.id)
    await Service.filter(id=service.id).update(source={"image": "registry.example.test:5000/team/app:v2"})
    second = await start(service)
    await succeed(second.id)
    await protect(service, 1)
    rollback = await rollback_deployment(starter(), RollbackSpec(service_id=service.id))
    assert rollback.rollback_of_id == first.id  # type: ignore[attr-defined]
    assert (rollback.status, rollback.approval_state) == (DeploymentStatus.QUEUED, A.PENDING)
    assert await claimed_ids() == []


async def test_pending_deployments_have_their_own_limit(db) -> None:
    target = await server(max_queued_deployments=1)
    service = await image_service(target)
    other = await image_service(target)
    await protect(service, 1)
    await start(service)
    with pytest.raises(UserFacingError) as caught:
        await start(service)
    assert caught.value.code == "QUEUE_FULL" and "waiting for approval" in caught.value.message
    # The queue itself still has its place.
    assert (await start(other)).status == DeploymentStatus.QUEUED


async def test_update_environment_validates_and_hides_other_projects(db) -> None:
    service = await image_service()
    environment_id = service.environment_id  # type: ignore[attr-defined]
    for value in (-1, 11):
        with pytest.raises(InvalidInput) as caught:
            await update_environment(owner(), EnvironmentUpdateSpec(environment_id=environment_id,
                                                                    required_approvals=value))
        assert [e.field for e in caught.value.errors] == [["input", "requiredApprovals"]]
    other = await project()
    with pytest.raises(UserFacingError) as hidden:
        await update_environment(owner(project_ids=[other.id]),
                                 EnvironmentUpdateSpec(environment_id=environment_id, required_approvals=1))
    assert (hidden.value.code, hidden.value.field) == ("NOT_FOUND", ["input", "environmentId"])
    unchanged = await update_environment(owner(), EnvironmentUpdateSpec(environment_id=environment_id))
    assert unchanged.required_approvals == 0
    changed = await update_environment(owner(), EnvironmentUpdateSpec(environment_id=environment_id,
                                                                      required_approvals=10))
    assert changed.required_approvals == 10 == (await Environment.get(id=environment_id)).required_approvals


async def test_decisions_on_other_projects_are_not_found(db) -> None:
    service = await image_service()
    await protect(service, 1)
    pending = await start(service)
    other = await project()
    for approved, comment in ((True, None), (False, "no")):
        with pytest.raises(UserFacingError) as caught:
            await decide_deployment(owner(project_ids=[other.id], token_id=31), pending.id, approved=approved,
                                    comment=comment)
        assert (caught.value.code, caught.value.field) == ("NOT_FOUND", ["input", "deploymentId"])
    assert (await Deployment.get(id=pending.id)).approval_state == A.PENDING


async def test_push_deploys_and_previews_wait_the_same_way(db) -> None:
    """Git pushes and pull-request previews go through the same start: they wait too."""
    service = await create_service(owner(), ServiceSpec(
        project_id=(await project()).id, environment="production", name=unique("svc"),
        server_id=(await server(max_concurrent_deployments=5)).id,
        source=SourceSpec(type=SourceType.DOCKERFILE, repository="https://git.example.test/team/app.git",
                          branch="main"),
    ))
    hook = await GitHook.create(service_id=service.id, provider=GitProvider.GITHUB, repository="team/app",
                                branch="main", previews=True, allow_fork_previews=True,
                                secret_enc=encrypt("s"), created_at=now())
    await protect(service, 1)
    push = PushEvent(repository="team/app", ref="refs/heads/main", commit_sha="c" * 40, deleted=False,
                     pusher_name="bob", pusher_email=None)
    outcome, _reason, pushed = await dispatch(hook, None, push)  # type: ignore[arg-type]  # a push reads no row
    assert outcome == WebhookOutcome.DEPLOYED and pushed is not None
    for fork in (False, True):
        pr = PullRequestEvent(repository="team/app", action=PullRequestAction.OPENED, number=8 + fork,
                              title="Try", head_ref="feature/x", head_sha="d" * 40, base_ref="main", author="eve",
                              fork=fork, merged=False, fetch_ref=f"refs/pull/{8 + fork}/head")
        outcome, _reason, preview = await handle_pull_request(hook, pr, {})
        assert outcome == WebhookOutcome.PREVIEW_DEPLOYED and preview is not None
        assert (await Deployment.get(id=preview.id)).approval_state == A.PENDING
    assert (await Deployment.get(id=pushed.id)).approval_state == A.PENDING
    assert await claimed_ids() == []
    # Anyone with the scope may approve a hook's deployment: its starter is the hook.
    approved = await decide_deployment(approver(), pushed.id, approved=True, comment=None)
    assert approved.approval_state == A.APPROVED
    assert await claimed_ids() == [pushed.id]
