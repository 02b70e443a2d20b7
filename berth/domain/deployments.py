"""Starting deployments, and the queue rules every new deployment goes through (CONTRACT §3).

`enqueue` is the one way a deployment is created (start and rollback alike). In a single
transaction it locks the target server's row (so two API processes cannot both squeeze past
the queue limit) and then the service row (bumping its deployment number), re-checks the
idempotency key under those locks, checks the queue limit, inserts the deployment with its
steps and CREATED event, records the key, and supersedes the older QUEUED deployments of
its lane. Lock order is server → service → deployment everywhere in the domain.

Lanes: the service itself is one lane, and each pull request's preview is another. A
deployment supersedes only the QUEUED deployments of its own lane, so a preview's push never
skips a production deployment (nor the other way round); the runner's claim rule and the
"previous SUCCEEDED deployment" a failed run restores are per lane too.

Order and "nothing stored": the contract supersedes first and checks QUEUE_FULL after. The
count here already leaves out the deployments that the new one would supersede, which gives
the same answer, and the superseding itself is written only once the limit check has passed:
a QUEUE_FULL refusal rolls back everything, so it neither stores the new deployment nor
skips the older ones.

Protected environments (`Environment.required_approvals` > 0): the new deployment is
queued with `approval_state` PENDING and its required count frozen; it waits outside the
queue (see `queue_decision`) until `berth.domain.approvals` records enough approvals.

Superseding goes through the lifecycle rules (`conclude_from_queue`). Called inside this
transaction, its own `in_transaction` becomes a savepoint on the same connection, so it
commits or rolls back with the new deployment; its wake-up fires before our commit, so the
listeners are woken once more after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from berth.auth.principal import Principal
from berth.domain import idempotency
from berth.domain.errors import ErrorList, InvalidInput, UserErrorCode, UserFacingError, not_found
from berth.domain.grammars import tag_problem
from berth.domain.limits import MAX_REASON
from berth.domain.preview_isolation import PreviewTarget
from berth.domain.privilege import frozen_input_violations
from berth.domain.queries import get_visible
from berth.domain.service_deletion import refuse_if_deleted, service_label
from berth.domain.specs import StartSpec
from berth.domain.validation import git_ref_problem
from berth.domain.views import Overrides, Target, start_record
from berth.models import Deployment, Environment, Project, Server, Service
from berth.models.enums import ApprovalState, DeploymentConclusion, DeploymentStatus, SourceType
from berth.models.lifecycle import (
    TransitionRefused,
    conclude_from_queue,
    create_deployment,
    notify_changed,
    notify_created,
)
from berth.models.sql import CONNECTION, fetch

START_MUTATION = "startDeployment"

# Builds the record fields (input, views, frozen input, reason, rollback_of …) from the
# target as read under the locks; may raise InvalidInput to refuse.
RecordBuilder = Callable[[Target], dict[str, Any]]


class _KeyTaken(Exception):
    """A concurrent duplicate committed the idempotency key first: roll back and replay it."""


@dataclass(frozen=True)
class QueueRequest:
    service_id: int
    mutation: str
    # Every input field but the key, for the idempotency hash.
    request: dict[str, Any]
    idempotency_key: str | None
    build: RecordBuilder
    # The preview this deployment runs in (its lane); None for the service itself.
    preview_id: int | None = None


def check_reason(errors: ErrorList, reason: str | None) -> None:
    # Free text, stored as it is (and in event payloads): bounded, and without NUL, which
    # PostgreSQL text and jsonb cannot hold.
    if reason is not None and (len(reason) > MAX_REASON or "\x00" in reason):
        errors.add(["input", "reason"], f"reason must be at most {MAX_REASON} characters without NUL")


def check_reason_and_key(errors: ErrorList, reason: str | None, key: str | None) -> None:
    check_reason(errors, reason)
    if key is not None and (problem := idempotency.key_problem(key)):
        errors.add(idempotency.KEY_FIELD, problem)


def check_privilege(target: Target, frozen: dict[str, Any]) -> None:
    """The policy again at queue time: the server's flag may differ from when the service was saved."""
    if target.server.allow_privileged:
        return
    violations = frozen_input_violations(frozen)
    if violations:
        errors = ErrorList()
        for violation in violations:
            errors.add(["input", "serviceId"], violation.message())
        raise InvalidInput(errors.errors)


async def _bump_number(conn: BaseDBAsyncClient, service_id: int) -> int:
    rows = await fetch(
        conn,
        "UPDATE service SET last_deployment_number = last_deployment_number + 1 "
        "WHERE id = ? RETURNING last_deployment_number",
        [service_id],
    )
    return int(rows[0]["last_deployment_number"])


async def _insert(principal: Principal, queued: QueueRequest, hashed: str | None,
                  server_id: int) -> tuple[Deployment, list[tuple[int, int]]]:
    """The transaction; returns the new deployment and (id, last event seq) of those it superseded."""
    async with in_transaction(CONNECTION) as conn:
        # NO KEY: foreign-key checks of rows referencing the server (FOR KEY SHARE) must not
        # wait on this lock, or a runner updating such a row deadlocks with us.
        server = await Server.filter(id=server_id).select_for_update(no_key=True).using_db(conn).get()
        number = await _bump_number(conn, queued.service_id)
        service = await Service.filter(id=queued.service_id).using_db(conn).get()
        key = queued.idempotency_key
        if key is not None:
            if await idempotency.find_live(principal, queued.mutation, key, conn) is not None:
                raise _KeyTaken
            await idempotency.forget_expired(conn, principal, queued.mutation, key)
        environment = await Environment.filter(id=service.environment_id).using_db(conn).get()  # type: ignore[attr-defined]
        project = await Project.filter(id=service.project_id).using_db(conn).get()  # type: ignore[attr-defined]
        decision = await queue_decision(conn, server, service.id, environment, queued.preview_id)
        # Under the service row's lock (taken by the number bump): a deleteService that
        # committed first is seen here, and one that comes later waits for this transaction.
        refuse_if_deleted(service, f"{project.name}/{environment.name}/{service.name}")
        target = Target(service=service, server=server, environment=environment, project=project)
        fields = queued.build(target)
        deployment = await create_deployment(
            conn,
            service_id=service.id,
            project_id=project.id,
            environment_id=environment.id,
            server_id=server.id,
            number=number,
            # Who and how come from the credential, never from the request.
            trigger=principal.trigger,
            actor=principal.actor(),
            preview_id=queued.preview_id,
            approvals_required=decision.required_approvals,
            approval_state=ApprovalState.PENDING if decision.pending else ApprovalState.NOT_REQUIRED,
            **fields,
        )
        if key is not None and hashed is not None:
            await idempotency.record(conn, principal, queued.mutation, key, hashed, deployment.id)
        superseded: list[tuple[int, int]] = []
        for older_id in decision.supersedes:
            try:
                result = await conclude_from_queue(older_id, DeploymentConclusion.SKIPPED)
            except TransitionRefused:
                continue  # a runner claimed it meanwhile: it runs, it is no longer waiting
            superseded.append((older_id, result.last_event_seq))
    return deployment, superseded


@dataclass(frozen=True)
class QueueDecision:
    """What the queue rules decide for a new deployment of a lane (start and plan alike)."""

    # Ids of the QUEUED deployments of its lane it supersedes, oldest first.
    supersedes: list[int]
    # Frozen from the environment now: a later change of requiredApprovals does not move it.
    required_approvals: int
    # QUEUED deployments of its server that would be ahead of it once it is in the queue.
    ahead: int

    @property
    def pending(self) -> bool:
        return self.required_approvals > 0


async def queue_decision(conn: BaseDBAsyncClient, server: Server, service_id: int,
                         environment: Environment, preview_id: int | None) -> QueueDecision:
    """The queue rules for a new deployment (CONTRACT §3 and protected environments).

    A deployment into a protected environment waits for approval outside the queue: it
    supersedes nothing, and it counts against the server's limit only among the others
    waiting for approval (so neither kind crowds out the other). Any other deployment
    supersedes every QUEUED one of its lane, those waiting for approval included (it is
    newer; they would deploy older work over it), and counts against the queue without
    them. QUEUE_FULL when the limit is reached."""
    required = environment.required_approvals
    lane = await Deployment.filter(
        service_id=service_id, status=DeploymentStatus.QUEUED, preview_id=preview_id
    ).using_db(conn).order_by("created_at", "id").values_list("id", "approval_state")
    pending_now = await Deployment.filter(
        server_id=server.id, status=DeploymentStatus.QUEUED, approval_state=ApprovalState.PENDING
    ).using_db(conn).count()
    waiting = await Deployment.filter(server_id=server.id, status=DeploymentStatus.QUEUED).using_db(conn).count()
    in_queue = waiting - pending_now
    if required > 0:
        if pending_now + 1 > server.max_queued_deployments:
            raise UserFacingError(
                UserErrorCode.QUEUE_FULL,
                f"server {server.name} already has {server.max_queued_deployments} deployments waiting for approval",
            )
        return QueueDecision(supersedes=[], required_approvals=required, ahead=in_queue)
    superseded_in_queue = sum(1 for _, state in lane if state != ApprovalState.PENDING)
    if in_queue - superseded_in_queue + 1 > server.max_queued_deployments:
        raise UserFacingError(
            UserErrorCode.QUEUE_FULL,
            f"server {server.name} already has {server.max_queued_deployments} queued deployments",
        )
    return QueueDecision(
        supersedes=[int(pk) for pk, _ in lane], required_approvals=0, ahead=in_queue - superseded_in_queue
    )


async def wake_after_commit(deployment_id: int, event_seq: int) -> None:
    # lifecycle wakes listeners when its own transaction ends; for a change made inside
    # ours that is before the commit, so it is repeated here once the data is visible.
    await notify_changed(deployment_id, event_seq, None)


async def enqueue(principal: Principal, queued: QueueRequest, server_id: int) -> Deployment:
    """Create a QUEUED deployment under the queue and idempotency rules."""
    key = queued.idempotency_key
    hashed = idempotency.request_hash(queued.request) if key is not None else None
    if key is not None and hashed is not None:
        original = await idempotency.lookup(principal, queued.mutation, key, hashed)
        if original is not None:
            return original
    # Two rounds at most: a key seen under the lock that has expired by the time it is read
    # again (the 24 h boundary) is simply free on the second round.
    for last_round in (False, True):
        try:
            deployment, superseded = await _insert(principal, queued, hashed, server_id)
            break
        except (_KeyTaken, IntegrityError):
            if key is None or hashed is None:
                raise
            # A concurrent duplicate won: answer with its deployment (or refuse another input).
            original = await idempotency.lookup(principal, queued.mutation, key, hashed)
            if original is not None:
                return original
            if last_round:
                raise
    await notify_created(deployment.id)
    for deployment_id, event_seq in superseded:
        await wake_after_commit(deployment_id, event_seq)
    return deployment


def _check_overrides(service: Service, spec: StartSpec, errors: ErrorList) -> None:
    kind = service.source_type
    from_repository = bool(service.source.get("repository"))
    if spec.image_tag is not None:
        if kind not in (SourceType.IMAGE, SourceType.COMPOSE):
            errors.add(["input", "imageTag"], f"imageTag applies to IMAGE and COMPOSE services, not {kind}")
        elif problem := tag_problem(spec.image_tag):
            errors.add(["input", "imageTag"], f"imageTag {problem}")
    if spec.ref is not None:
        if not (kind == SourceType.DOCKERFILE or (kind == SourceType.COMPOSE and from_repository)):
            errors.add(["input", "ref"], "ref applies to DOCKERFILE services and COMPOSE from a repository")
        elif problem := git_ref_problem(spec.ref):
            errors.add(["input", "ref"], f"ref {problem}")


async def prepare_start(principal: Principal, spec: StartSpec, *, commit_sha: str | None = None,
                        preview: PreviewTarget | None = None) -> tuple[Service, QueueRequest]:
    """Every check startDeployment makes before its transaction, and the request it queues.

    `planDeployment` calls this too (then `berth.domain.plans` runs the transaction's checks
    without writing), so a plan's problems are exactly startDeployment's refusals."""
    service = await get_visible(principal, Service, spec.service_id)
    if service is None:
        raise not_found("service", ["input", "serviceId"])
    refuse_if_deleted(service, await service_label(service))
    errors = ErrorList()
    _check_overrides(service, spec, errors)
    check_reason_and_key(errors, spec.reason, spec.idempotency_key)
    errors.raise_if_any()
    overrides = Overrides(image_tag=spec.image_tag, ref=spec.ref, commit_sha=commit_sha, preview=preview)

    def build(target: Target) -> dict[str, Any]:
        # Re-read under the lock: the overrides were checked against the service as read
        # before it, and an update in between may have changed its source type.
        recheck = ErrorList()
        _check_overrides(target.service, spec, recheck)
        recheck.raise_if_any()
        record = start_record(target, overrides)
        check_privilege(target, record["frozen_input"])
        return {**record, "reason": spec.reason}

    request = {
        "serviceId": spec.service_id, "imageTag": spec.image_tag, "ref": spec.ref, "reason": spec.reason,
    }
    queued = QueueRequest(spec.service_id, START_MUTATION, request, spec.idempotency_key, build,
                          preview_id=preview.preview_id if preview else None)
    return service, queued


async def start_deployment(principal: Principal, spec: StartSpec, *, commit_sha: str | None = None,
                           preview: PreviewTarget | None = None) -> Deployment:
    """`commit_sha`: deploy exactly this commit of `spec.ref` (a git hook's push);
    `preview`: into that pull request's preview, isolated from the service."""
    service, queued = await prepare_start(principal, spec, commit_sha=commit_sha, preview=preview)
    return await enqueue(principal, queued, service.server_id)  # type: ignore[attr-defined]
