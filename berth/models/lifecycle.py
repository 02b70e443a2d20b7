"""The deployment lifecycle rules, in one place for the API and the runner (CONTRACT §3).

Every change is a guarded update (`… WHERE id = ? AND status = ?`, plus the runner's
attempt as a fencing token) in one transaction with the events it appends, so a
concluded deployment can never change again and two writers can never both move it.
The commit-status outbox row a change reports to a git provider, and the notifications it
announces, are written in that same transaction too (`berth.models.commit_outbox`,
`berth.models.notification_outbox`). Event and log sequence numbers are handed
out by bumping a counter on the deployment row inside that transaction: the row lock
serialises writers, and a rolled-back transaction gives its numbers back, so sequences
stay gap-free.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.transactions import in_transaction

from berth.models import commit_outbox, notification_outbox, post_commit
from berth.models.deployment import Deployment, DeploymentEvent, DeploymentStep, LogLine
from berth.models.enums import (
    STEP_ORDER,
    DeploymentConclusion,
    DeploymentEventType,
    DeploymentStatus,
    LogStream,
    StepKind,
    StepStatus,
)
from berth.models.sql import CONNECTION, dialect, fetch, get_connection

TERMINAL_STATUSES = frozenset({DeploymentStatus.COMPLETED, DeploymentStatus.FAILED})
ACTIVE_STATUSES = frozenset(set(DeploymentStatus) - TERMINAL_STATUSES)
RUNNING_STATUSES = frozenset({DeploymentStatus.PREPARE, DeploymentStatus.DEPLOY, DeploymentStatus.FINALIZE})

# (from, to) -> conclusions allowed with that move (None: the move carries no conclusion).
STATUS_MOVES: dict[tuple[DeploymentStatus, DeploymentStatus], frozenset[DeploymentConclusion | None]] = {
    (DeploymentStatus.QUEUED, DeploymentStatus.PREPARE): frozenset({None}),
    (DeploymentStatus.PREPARE, DeploymentStatus.DEPLOY): frozenset({None}),
    (DeploymentStatus.DEPLOY, DeploymentStatus.FINALIZE): frozenset({None}),
    (DeploymentStatus.FINALIZE, DeploymentStatus.COMPLETED): frozenset({DeploymentConclusion.SUCCEEDED}),
    (DeploymentStatus.QUEUED, DeploymentStatus.COMPLETED): frozenset({DeploymentConclusion.SKIPPED}),
    **{
        (source, DeploymentStatus.FAILED): frozenset(
            {DeploymentConclusion.FAILED, DeploymentConclusion.CANCELED}
        )
        for source in (
            DeploymentStatus.QUEUED,
            DeploymentStatus.PREPARE,
            DeploymentStatus.DEPLOY,
            DeploymentStatus.FINALIZE,
        )
    },
}

TERMINAL_STEP_STATUSES = frozenset(
    {StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.CANCELED}
)
STEP_MOVES: dict[StepStatus, frozenset[StepStatus]] = {
    StepStatus.PENDING: frozenset({StepStatus.RUNNING, StepStatus.SKIPPED, StepStatus.CANCELED}),
    StepStatus.RUNNING: frozenset({StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.CANCELED}),
}


class TransitionRefused(Exception):
    """The move is not allowed by the rules, or another writer got there first."""


@dataclass(frozen=True)
class StepChange:
    kind: StepKind
    status: StepStatus
    detail: str | None = None


@dataclass(frozen=True)
class LogEntry:
    text: str
    stream: LogStream = LogStream.SYSTEM
    step: StepKind | None = None
    timestamp: datetime | None = None


# Called after commit with (deployment_id, newest event seq or None, newest log seq or None).
CommitListener = Callable[[int, int | None, int | None], Awaitable[None] | None]
_listeners: list[CommitListener] = []


def add_commit_listener(listener: CommitListener) -> None:
    _listeners.append(listener)


def remove_commit_listener(listener: CommitListener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


async def _notify(deployment_id: int, event_seq: int | None, log_seq: int | None) -> None:
    # Inside a caller's transaction nothing is visible yet, and a listener's work would run
    # on that transaction's connection: the caller wakes listeners after its commit
    # (`notify_changed`).
    if post_commit.defer(_notify, deployment_id, event_seq, log_seq):
        return  # an audited mutation's outer transaction: after its commit
    if isinstance(get_connection(), TransactionalDBClient):
        return
    for listener in list(_listeners):
        result = listener(deployment_id, event_seq, log_seq)
        if result is not None:
            await result


# PostgreSQL channel carrying wake-ups to every API process (payload: "id:event_seq:log_seq").
NOTIFY_CHANNEL = "berth_deployments"


async def _notify_in_transaction(
    conn: BaseDBAsyncClient, deployment_id: int, event_seq: int | None, log_seq: int | None
) -> None:
    """On PostgreSQL, NOTIFY inside the writing transaction: it is delivered exactly when
    the change commits (and never for a rolled-back one). Only a wake-up travels; the
    database stays the source of truth."""
    if dialect(conn) == "postgres":
        payload = f"{deployment_id}:{event_seq or ''}:{log_seq or ''}"
        await conn.execute_query(f"SELECT pg_notify('{NOTIFY_CHANNEL}', $1)", [payload])


async def notify_changed(deployment_id: int, event_seq: int | None = None, log_seq: int | None = None) -> None:
    """Wake listeners after an outer transaction committed changes made through this module
    (a nested change wakes them before the outer commit, when nothing is visible yet)."""
    await _notify(deployment_id, event_seq, log_seq)


def now() -> datetime:
    return datetime.now(UTC)


def check_status_move(
    source: DeploymentStatus, target: DeploymentStatus, conclusion: DeploymentConclusion | None
) -> None:
    allowed = STATUS_MOVES.get((source, target))
    if allowed is None:
        raise TransitionRefused(f"a deployment cannot move from {source} to {target}")
    if conclusion not in allowed:
        raise TransitionRefused(f"the move {source} → {target} cannot conclude {conclusion}")


def check_step_move(source: StepStatus, target: StepStatus) -> None:
    if target not in STEP_MOVES.get(source, frozenset()):
        raise TransitionRefused(f"a step cannot move from {source} to {target}")


def step_snapshot(step: DeploymentStep) -> dict[str, Any]:
    return {
        "kind": str(step.kind),
        "status": str(step.status),
        "startedAt": step.started_at.isoformat() if step.started_at else None,
        "completedAt": step.completed_at.isoformat() if step.completed_at else None,
        "detail": step.detail,
    }


async def _bump_counter(
    conn: BaseDBAsyncClient,
    deployment_id: int,
    column: str,
    count: int,
    allowed_statuses: Sequence[DeploymentStatus],
    attempt: int | None,
) -> dict[str, Any] | None:
    """Lock the deployment row, check the guard, and reserve `count` sequence numbers."""
    status_marks = ", ".join("?" for _ in allowed_statuses)
    sql = f"UPDATE deployment SET {column} = {column} + ? WHERE id = ? AND status IN ({status_marks})"
    values: list[Any] = [count, deployment_id, *[str(s) for s in allowed_statuses]]
    if attempt is not None:
        sql += " AND attempt = ?"
        values.append(attempt)
    sql += f" RETURNING {column} AS last_seq, status, conclusion"
    rows = await fetch(conn, sql, values)
    return rows[0] if rows else None


async def create_deployment(conn: BaseDBAsyncClient, **fields: Any) -> Deployment:
    """Insert a QUEUED deployment with its seven PENDING steps and the CREATED event (seq 1).

    Runs on the caller's transaction, so whatever else the caller checks commits with it.
    """
    created_at = fields.pop("created_at", None) or now()
    deployment = await Deployment.create(
        using_db=conn,
        status=DeploymentStatus.QUEUED,
        created_at=created_at,
        last_event_seq=1,
        **fields,
    )
    await DeploymentStep.bulk_create(
        [
            DeploymentStep(deployment_id=deployment.id, kind=kind, position=index, status=StepStatus.PENDING)
            for index, kind in enumerate(STEP_ORDER)
        ],
        using_db=conn,
    )
    await DeploymentEvent.create(
        using_db=conn,
        deployment_id=deployment.id,
        seq=1,
        type=DeploymentEventType.CREATED,
        at=created_at,
        status=DeploymentStatus.QUEUED,
        conclusion=None,
        step=None,
        payload={},
    )
    # The commit-status outbox row commits (or rolls back) with the deployment itself.
    await commit_outbox.record_queued(conn, deployment, created_at)
    await _notify_in_transaction(conn, deployment.id, 1, None)
    return deployment


async def notify_created(deployment_id: int) -> None:
    """Wake listeners once the creating transaction has committed."""
    await _notify(deployment_id, 1, None)


@dataclass(frozen=True)
class ChangeResult:
    status: DeploymentStatus
    conclusion: DeploymentConclusion | None
    last_event_seq: int


async def apply_change(
    deployment_id: int,
    *,
    from_status: DeploymentStatus | None = None,
    to_status: DeploymentStatus | None = None,
    conclusion: DeploymentConclusion | None = None,
    error: dict[str, Any] | None = None,
    steps: Sequence[StepChange] = (),
    attempt: int | None = None,
    cancel_requested: bool = False,
    cancel_reason: str | None = None,
    updates: dict[str, Any] | None = None,
    leading_events: Sequence[tuple[DeploymentEventType, dict[str, Any]]] = (),
) -> ChangeResult:
    """Apply one lifecycle change atomically and append its events.

    `from_status` guards the move (required with `to_status`); without it the change
    applies to any non-terminal deployment. `attempt` fences a runner's writes.
    `leading_events`: (type, payload) appended first, before those of the move (an approval
    decision, and then the conclusion a rejection brings).
    """
    if to_status is not None:
        if from_status is None:
            raise TransitionRefused("a status move needs the status it moves from")
        check_status_move(from_status, to_status, conclusion)
    elif conclusion is not None:
        raise TransitionRefused("a conclusion comes only with a terminal status")
    terminal = to_status in TERMINAL_STATUSES
    event_count = (
        len(leading_events) + len(steps) + (1 if to_status else 0) + (1 if terminal else 0) + (1 if cancel_requested else 0)
    )
    if event_count == 0 and not updates:
        raise TransitionRefused("nothing to change")
    allowed = [from_status] if from_status is not None else sorted(ACTIVE_STATUSES)
    moment = now()
    async with in_transaction(CONNECTION) as conn:
        row = await _bump_counter(conn, deployment_id, "last_event_seq", event_count, allowed, attempt)
        if row is None:
            raise TransitionRefused(
                f"deployment {deployment_id} is not in {', '.join(str(s) for s in allowed)}"
                + (f" at attempt {attempt}" if attempt is not None else "")
            )
        current_status = DeploymentStatus(row["status"])
        if cancel_requested and current_status in TERMINAL_STATUSES:
            raise TransitionRefused("a concluded deployment cannot be canceled")
        seq = int(row["last_seq"]) - event_count
        events: list[DeploymentEvent] = []

        def add_event(
            kind: DeploymentEventType,
            status: DeploymentStatus,
            step: dict[str, Any] | None,
            payload: dict[str, Any],
        ) -> None:
            nonlocal seq
            seq += 1
            events.append(
                DeploymentEvent(
                    deployment_id=deployment_id,
                    seq=seq,
                    type=kind,
                    at=moment,
                    status=status,
                    conclusion=conclusion if status in TERMINAL_STATUSES else None,
                    step=step,
                    payload=payload,
                )
            )

        deployment_updates: dict[str, Any] = dict(updates or {})
        for kind, payload in leading_events:
            add_event(kind, current_status, None, payload)
        if cancel_requested:
            deployment_updates["cancel_requested_at"] = moment
            deployment_updates["cancel_reason"] = cancel_reason
            add_event(DeploymentEventType.CANCEL_REQUESTED, current_status, None, {"reason": cancel_reason})
        # Moving forward: the status first, then the steps it starts. Concluding: the
        # steps first (the failed one, the skipped rest), then the status, CONCLUDED last.
        if to_status is not None and not terminal:
            add_event(DeploymentEventType.STATUS_CHANGED, to_status, None, {"from": str(from_status)})
            current_status = to_status
        for change in steps:
            snapshot = await _apply_step(conn, deployment_id, change, moment)
            add_event(DeploymentEventType.STEP_CHANGED, current_status, snapshot, {})
        if to_status is not None:
            deployment_updates["status"] = to_status
            if from_status == DeploymentStatus.QUEUED and not terminal:
                deployment_updates["started_at"] = moment
            if terminal:
                deployment_updates["conclusion"] = conclusion
                deployment_updates["concluded_at"] = moment
                deployment_updates["error"] = error
                add_event(DeploymentEventType.STATUS_CHANGED, to_status, None, {"from": str(from_status)})
                add_event(DeploymentEventType.CONCLUDED, to_status, None, {"error": error})
                await commit_outbox.record_concluded(conn, deployment_id, conclusion, error, moment)
        if deployment_updates:
            await Deployment.filter(id=deployment_id).using_db(conn).update(**deployment_updates)
        # Notifications read the deployment as this change leaves it (its conclusion, error).
        if from_status == DeploymentStatus.QUEUED and to_status == DeploymentStatus.PREPARE:
            await notification_outbox.record_started(conn, deployment_id, moment)
        elif terminal:
            await notification_outbox.record_concluded(conn, deployment_id, conclusion, moment)
        if events:
            await DeploymentEvent.bulk_create(events, using_db=conn)
        await _notify_in_transaction(conn, deployment_id, seq, None)
        final_status = DeploymentStatus(deployment_updates.get("status", current_status))
        last_seq = seq
    await _notify(deployment_id, last_seq, None)
    return ChangeResult(
        status=final_status, conclusion=conclusion if terminal else None, last_event_seq=last_seq
    )


async def _apply_step(
    conn: BaseDBAsyncClient, deployment_id: int, change: StepChange, moment: datetime
) -> dict[str, Any]:
    step = await DeploymentStep.filter(deployment_id=deployment_id, kind=change.kind).using_db(conn).get()
    check_step_move(step.status, change.status)
    fields: dict[str, Any] = {"status": change.status}
    if change.status == StepStatus.RUNNING:
        fields["started_at"] = moment
    if change.status in TERMINAL_STEP_STATUSES:
        fields["completed_at"] = moment
        if step.status == StepStatus.RUNNING and step.started_at is None:
            fields["started_at"] = moment
    if change.detail is not None:
        fields["detail"] = change.detail
    updated = await DeploymentStep.filter(id=step.id, status=step.status).using_db(conn).update(**fields)
    if updated != 1:
        raise TransitionRefused(f"step {change.kind} changed under us")
    for name, value in fields.items():
        setattr(step, name, value)
    return step_snapshot(step)


async def remaining_step_changes(
    deployment_id: int, status: StepStatus = StepStatus.SKIPPED
) -> list[StepChange]:
    """The PENDING steps of a deployment, as changes to `status` (SKIPPED by default)."""
    pending = await DeploymentStep.filter(deployment_id=deployment_id, status=StepStatus.PENDING).order_by(
        "position"
    )
    return [StepChange(step.kind, status) for step in pending]


async def conclude_from_queue(
    deployment_id: int,
    conclusion: DeploymentConclusion,
    error: dict[str, Any] | None = None,
    *,
    cancel_reason: str | None = None,
    leading_events: Sequence[tuple[DeploymentEventType, dict[str, Any]]] = (),
    updates: dict[str, Any] | None = None,
) -> ChangeResult:
    """QUEUED → COMPLETED/SKIPPED (superseded) or FAILED/CANCELED, all seven steps SKIPPED.

    `leading_events` come first (see `apply_change`); `updates` are further columns to set with it."""
    changes = dict(updates or {})
    if cancel_reason is not None:
        changes["cancel_reason"] = cancel_reason
    status = (
        DeploymentStatus.COMPLETED if conclusion == DeploymentConclusion.SKIPPED else DeploymentStatus.FAILED
    )
    return await apply_change(
        deployment_id,
        from_status=DeploymentStatus.QUEUED,
        to_status=status,
        conclusion=conclusion,
        error=error,
        steps=[StepChange(kind, StepStatus.SKIPPED) for kind in STEP_ORDER],
        updates=changes or None,
        leading_events=leading_events,
    )


# One statement for a batch of lines (COPY on PostgreSQL), the values as Tortoise would
# bind them (aware datetimes, enum values): a model per line cost more than the database did.
_LOG_LINE_COLUMNS = ("deployment_id", "seq", "timestamp", "stream", "step", "text")
_INSERT_LOG_LINE = 'INSERT INTO "{}" ({}) VALUES ({})'.format(
    LogLine._meta.db_table, ", ".join(f'"{column}"' for column in _LOG_LINE_COLUMNS),
    ", ".join("?" for _ in _LOG_LINE_COLUMNS))


async def _insert_log_lines(conn: BaseDBAsyncClient, deployment_id: int, first: int, entries: Sequence[LogEntry],
                            moment: datetime) -> None:
    values = [
        [deployment_id, first + offset, entry.timestamp or moment, entry.stream.value,
         entry.step.value if entry.step is not None else None, entry.text]
        for offset, entry in enumerate(entries)
    ]
    if dialect(conn) == "postgres":
        async with conn.acquire_connection() as connection:  # the transaction's asyncpg connection
            await connection.copy_records_to_table(LogLine._meta.db_table, records=values, columns=_LOG_LINE_COLUMNS)
        return
    await conn.execute_many(_INSERT_LOG_LINE, values)


async def append_logs(deployment_id: int, entries: Sequence[LogEntry], attempt: int | None = None) -> int:
    """Store log lines with gap-free seq; returns the last seq. Refused once concluded."""
    if not entries:
        raise ValueError("no log lines to append")
    moment = now()
    async with in_transaction(CONNECTION) as conn:
        row = await _bump_counter(
            conn, deployment_id, "last_log_seq", len(entries), sorted(ACTIVE_STATUSES), attempt
        )
        if row is None:
            raise TransitionRefused(f"deployment {deployment_id} takes no more log lines")
        first = int(row["last_seq"]) - len(entries) + 1
        await _insert_log_lines(conn, deployment_id, first, entries, moment)
        last = first + len(entries) - 1
        await _notify_in_transaction(conn, deployment_id, None, last)
    await _notify(deployment_id, None, last)
    return last
