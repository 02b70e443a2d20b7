"""Writing the commit-status outbox, on the connection of the lifecycle change it reports.

`berth.models.lifecycle` calls `record_queued` when it creates a deployment and
`record_concluded` when it concludes one, inside that change's transaction: a rolled-back
change leaves no status behind, and a committed one always has its status waiting for the
sender (`berth.runner.status_sender`). This is the one place that decides which deployments
report and what they say; how each provider is told lives in `berth.domain.commit_statuses`.

A deployment reports when a git hook with a status token started it for an exact commit
(actor `githook:<id>`, `input.commitSha`): `pending` when queued, its conclusion when it
concludes. Both ask the same question of the same rows (a hook's token cannot change, and
deleting the hook deletes its statuses), so the two always come as a pair; and neither
searches the outbox, which has no index by deployment: a deployment no hook started costs
one primary-key read when it concludes.

The stored `target_url` is the deployment's link relative to BERTH_PUBLIC_URL: this layer
cannot know the address the server is reached at (`berth serve` derives it from its listening
address), the sender does and makes it absolute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from berth.models.deployment import Deployment
from berth.models.enums import CommitState, DeploymentConclusion
from berth.models.git import CommitStatus, GitHook
from berth.models.inventory import Environment, Project, Service

HOOK_ACTOR_PREFIX = "githook:"
# GitHub's limit on a status description; GitLab and Gitea take at least as much.
MAX_DESCRIPTION = 140

# What a conclusion is reported as. GitHub has four states; a canceled deployment, or one
# skipped because a newer push superseded it, did not fail its checks: `error` (grey-red
# "errored" on GitHub, mapped to GitLab's `canceled`) says "no verdict on this commit".
CONCLUSION_STATES: dict[DeploymentConclusion, CommitState] = {
    DeploymentConclusion.SUCCEEDED: CommitState.SUCCESS,
    DeploymentConclusion.FAILED: CommitState.FAILURE,
    DeploymentConclusion.CANCELED: CommitState.ERROR,
    DeploymentConclusion.SKIPPED: CommitState.ERROR,
}
_CONCLUSION_WORDS: dict[DeploymentConclusion, str] = {
    DeploymentConclusion.SUCCEEDED: "deployed",
    DeploymentConclusion.FAILED: "failed",
    DeploymentConclusion.CANCELED: "canceled",
    DeploymentConclusion.SKIPPED: "skipped (a newer deployment superseded it)",
}


def deployment_link(deployment_id: int) -> str:
    """The deployment's artifact (its whole record), relative to BERTH_PUBLIC_URL."""
    return f"/api/v1/deployments/{deployment_id}/artifact"


def hook_id_of(actor: Any) -> int | None:
    subject = actor.get("subject") if isinstance(actor, dict) else None
    if not isinstance(subject, str) or not subject.startswith(HOOK_ACTOR_PREFIX):
        return None
    number = subject.removeprefix(HOOK_ACTOR_PREFIX)
    return int(number) if number.isascii() and number.isdigit() else None


def _description(label: str, words: str) -> str:
    text = f"{label} {words}"
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1] + "…"


@dataclass(frozen=True)
class Names:
    project: str
    environment: str
    service: str
    number: int

    @property
    def label(self) -> str:
        """`project/env/service #N`: how people name a deployment (never by row id)."""
        return f"{self.project}/{self.environment}/{self.service} #{self.number}"


async def names_of(conn: BaseDBAsyncClient, row: dict[str, Any]) -> Names:
    """The names of a deployment (`row`: its project_id, environment_id, service_id, number)."""
    project = await Project.filter(id=row["project_id"]).using_db(conn).values_list("name", flat=True)
    environment = await Environment.filter(id=row["environment_id"]).using_db(conn).values_list("name", flat=True)
    service = await Service.filter(id=row["service_id"]).using_db(conn).values_list("name", flat=True)
    return Names(str(project[0]), str(environment[0]), str(service[0]), int(row["number"]))


@dataclass(frozen=True)
class _Reporting:
    hook_id: int
    commit_sha: str
    label: str


_FIELDS = ("actor", "input", "number", "project_id", "environment_id", "service_id")


async def _reporting(conn: BaseDBAsyncClient, row: dict[str, Any]) -> _Reporting | None:
    """Whom a deployment (`row`: its `_FIELDS`) reports to: its hook, when a status-reporting
    hook started it for an exact commit; None for every other deployment, without a query."""
    hook_id = hook_id_of(row["actor"])
    commit = row["input"].get("commitSha") if isinstance(row["input"], dict) else None
    if hook_id is None or not isinstance(commit, str) or not commit:
        return None
    hook = await GitHook.filter(id=hook_id).using_db(conn).values_list("status_token_enc", flat=True)
    if not hook or not hook[0]:
        return None
    return _Reporting(hook_id=hook_id, commit_sha=commit, label=(await names_of(conn, row)).label)


async def _write(conn: BaseDBAsyncClient, deployment_id: int, row: dict[str, Any], state: CommitState,
                 words: str, moment: datetime) -> None:
    reporting = await _reporting(conn, row)
    if reporting is None:
        return
    await CommitStatus.create(
        using_db=conn, hook_id=reporting.hook_id, deployment_id=deployment_id, commit_sha=reporting.commit_sha,
        state=state, description=_description(reporting.label, words), target_url=deployment_link(deployment_id),
        created_at=moment, next_attempt_at=moment,
    )


async def record_queued(conn: BaseDBAsyncClient, deployment: Deployment, moment: datetime) -> None:
    """`pending` for a new deployment a status-reporting hook started; nothing otherwise."""
    row = {name: getattr(deployment, name) for name in _FIELDS}
    await _write(conn, deployment.id, row, CommitState.PENDING, "queued", moment)


async def record_concluded(
    conn: BaseDBAsyncClient,
    deployment_id: int,
    conclusion: DeploymentConclusion | None,
    error: dict[str, Any] | None,
    moment: datetime,
) -> None:
    """The conclusion of a deployment that reports statuses; nothing for the others."""
    if conclusion is None:
        return
    words = _CONCLUSION_WORDS[conclusion]
    if conclusion == DeploymentConclusion.FAILED and isinstance(error, dict) and error.get("code"):
        words += f" ({error['code']})"
    rows = await Deployment.filter(id=deployment_id).using_db(conn).values(*_FIELDS)
    if rows:
        await _write(conn, deployment_id, rows[0], CONCLUSION_STATES[conclusion], words, moment)
