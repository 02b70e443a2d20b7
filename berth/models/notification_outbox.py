"""Writing the notification outbox, on the connection of the lifecycle change it announces.

`berth.models.lifecycle` calls `record_started` when a runner claims a deployment (QUEUED →
PREPARE) and `record_concluded` when it concludes, inside that change's transaction, beside
the commit-status outbox (`berth.models.commit_outbox`): a rolled-back change announces
nothing, and a committed one always has its deliveries waiting for the sender
(`berth.runner.notification_sender`). One row per matching channel of the deployment's
project; a project without channels costs two indexed reads per start and conclusion (the
deployment's row, and its project's channels through the unique (project, name) index).

What is stored is the summary as it was (names, number, outcome, error code), so a message
says what happened even if the service is renamed before it goes out. The link is relative
to BERTH_PUBLIC_URL, made absolute by the sender (as commit statuses do).

A successful rollback deployment (`rollback_of` set) announces `deployment.rolled_back`
*instead of* `deployment.succeeded`: one message per conclusion, the one that says what
happened. An automatic rollback (autoRollback after a failed START/HEALTH) is no deployment of
its own: its deployment announces `deployment.failed`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from berth.models import post_commit
from berth.models.commit_outbox import deployment_link, names_of
from berth.models.deployment import Deployment
from berth.models.enums import DeploymentConclusion, NotificationDeliveryStatus
from berth.models.notifications import NotificationChannel, NotificationDelivery

STARTED = "deployment.started"
SUCCEEDED = "deployment.succeeded"
FAILED = "deployment.failed"
CANCELED = "deployment.canceled"
SKIPPED = "deployment.skipped"
ROLLED_BACK = "deployment.rolled_back"
EVENTS = (STARTED, SUCCEEDED, FAILED, CANCELED, SKIPPED, ROLLED_BACK)
EVERY_DEPLOYMENT_EVENT = "deployment.*"
# What testNotificationChannel sends; no channel subscribes to it, it goes to one channel.
TEST_EVENT = "notification.test"

_CONCLUSION_EVENTS: dict[DeploymentConclusion, str] = {
    DeploymentConclusion.SUCCEEDED: SUCCEEDED,
    DeploymentConclusion.FAILED: FAILED,
    DeploymentConclusion.CANCELED: CANCELED,
    DeploymentConclusion.SKIPPED: SKIPPED,
}
_FIELDS = ("number", "project_id", "environment_id", "service_id", "status", "conclusion", "trigger", "error",
           "rollback_of_id", "input", "cancel_reason")

# Wake-ups for senders in this process when a delivery is written outside a deployment's
# change (a test event): deployment changes wake them through the lifecycle's listeners.
_wakers: list[Callable[[], None]] = []


def add_waker(waker: Callable[[], None]) -> None:
    _wakers.append(waker)


def remove_waker(waker: Callable[[], None]) -> None:
    if waker in _wakers:
        _wakers.remove(waker)


def wake_senders() -> None:
    if post_commit.defer(wake_senders):
        return  # an audited mutation's outer transaction: after its commit
    for waker in list(_wakers):
        waker()


def matches(patterns: list[str], event: str) -> bool:
    return event in patterns or (event.startswith("deployment.") and EVERY_DEPLOYMENT_EVENT in patterns)


def new_delivery_id() -> str:
    return str(uuid.uuid4())


async def _summary(conn: BaseDBAsyncClient, deployment_id: int, row: dict[str, Any], event: str,
                   moment: datetime) -> dict[str, Any]:
    names = await names_of(conn, row)
    rollback_of = None
    if row["rollback_of_id"] is not None:
        numbers = await Deployment.filter(id=row["rollback_of_id"]).using_db(conn).values_list("number", flat=True)
        rollback_of = int(str(numbers[0])) if numbers else None
    error = row["error"] if isinstance(row["error"], dict) else None
    commit = row["input"].get("commitSha") if isinstance(row["input"], dict) else None
    return {
        "event": event,
        "occurredAt": moment.isoformat(),
        "deployment": {
            "label": names.label,
            "project": names.project,
            "environment": names.environment,
            "service": names.service,
            "number": names.number,
            "status": str(row["status"]),
            "conclusion": str(row["conclusion"]) if row["conclusion"] is not None else None,
            "trigger": str(row["trigger"]),
            "commitSha": commit if isinstance(commit, str) else None,
            "rollbackOf": rollback_of,
            # The code and step only: a message can quote a build's output, and this leaves Berth.
            "error": {"code": error.get("code"), "step": error.get("step")} if error else None,
            "cancelReason": row["cancel_reason"],
            "link": deployment_link(deployment_id),
        },
    }


async def _write(conn: BaseDBAsyncClient, deployment_id: int, event: str, moment: datetime) -> None:
    rows = await Deployment.filter(id=deployment_id).using_db(conn).values(*_FIELDS)
    if not rows:
        return
    row = rows[0]
    if event == SUCCEEDED and row["rollback_of_id"] is not None:
        event = ROLLED_BACK
    channels = await NotificationChannel.filter(project_id=row["project_id"]).using_db(conn).values(
        "id", "events")
    wanted = [c["id"] for c in channels if matches(list(c["events"] or []), event)]
    if not wanted:
        return
    payload = await _summary(conn, deployment_id, row, event, moment)
    await NotificationDelivery.bulk_create(
        [
            NotificationDelivery(
                channel_id=channel_id, deployment_id=deployment_id, event=event, delivery_id=new_delivery_id(),
                payload=payload, status=NotificationDeliveryStatus.PENDING, attempts=0, next_attempt_at=moment,
                created_at=moment,
            )
            for channel_id in wanted
        ],
        using_db=conn,
    )


async def record_started(conn: BaseDBAsyncClient, deployment_id: int, moment: datetime) -> None:
    """`deployment.started` when a runner takes the deployment (QUEUED → PREPARE)."""
    await _write(conn, deployment_id, STARTED, moment)


async def record_concluded(conn: BaseDBAsyncClient, deployment_id: int, conclusion: DeploymentConclusion | None,
                           moment: datetime) -> None:
    """The conclusion's event; called after the deployment row holds its conclusion."""
    if conclusion is not None:
        await _write(conn, deployment_id, _CONCLUSION_EVENTS[conclusion], moment)
