"""Writing the commit-status outbox, on the connection of the lifecycle change it reports.

`berth.models.lifecycle` calls `record_queued` when it creates a deployment and
`record_concluded` when it concludes one, inside that change's transaction: a rolled-back
change leaves no status behind, and a committed one always has its status waiting for the
sender (`berth.runner.status_sender`). This is the one place that decides which deployments
report and what they say; how each provider is told lives in `berth.domain.commit_statuses`.

A deployment reports when a git hook with a status token started it for an exact commit
(actor `githook:<id>`, `input.commitSha`): it gets `pending` when queued. Its conclusion is
reported only when it got that `pending` row, so the two always come as a pair.

The stored `target_url` is the deployment's link relative to BERTH_PUBLIC_URL: this layer
cannot know the address the server is reached at (`berth serve` derives it from its listening
address), the sender does and makes it absolute.
"""

from __future__ import annotations

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


async def _label(conn: BaseDBAsyncClient, deployment: Deployment) -> str:
    """`project/env/service #N`: how people name a deployment (never by row id)."""
    project = await Project.filter(id=deployment.project_id).using_db(conn).only("name").get()
    environment = await Environment.filter(id=deployment.environment_id).using_db(conn).only("name").get()
    service = await Service.filter(id=deployment.service_id).using_db(conn).only("name").get()
    return f"{project.name}/{environment.name}/{service.name} #{deployment.number}"


async def record_queued(conn: BaseDBAsyncClient, deployment: Deployment, moment: datetime) -> None:
    """`pending` for a new deployment a status-reporting hook started; nothing otherwise."""
    hook_id = hook_id_of(deployment.actor)
    commit = (deployment.input or {}).get("commitSha") if isinstance(deployment.input, dict) else None
    if hook_id is None or not commit:
        return
    hook = await GitHook.filter(id=hook_id).using_db(conn).only("id", "status_token_enc").first()
    if hook is None or not hook.status_token_enc:
        return
    await CommitStatus.create(
        using_db=conn, hook_id=hook.id, deployment_id=deployment.id, commit_sha=commit,
        state=CommitState.PENDING, description=_description(await _label(conn, deployment), "queued"),
        target_url=deployment_link(deployment.id), created_at=moment, next_attempt_at=moment,
    )


async def record_concluded(
    conn: BaseDBAsyncClient,
    deployment_id: int,
    conclusion: DeploymentConclusion | None,
    error: dict[str, Any] | None,
    moment: datetime,
) -> None:
    """The conclusion of a deployment that reported `pending`; nothing for the others."""
    if conclusion is None:
        return
    pending = (
        await CommitStatus.filter(deployment_id=deployment_id, state=CommitState.PENDING)
        .using_db(conn).order_by("id").first()
    )
    if pending is None:
        return
    deployment = await Deployment.filter(id=deployment_id).using_db(conn).get()
    words = _CONCLUSION_WORDS[conclusion]
    if conclusion == DeploymentConclusion.FAILED and isinstance(error, dict) and error.get("code"):
        words += f" ({error['code']})"
    await CommitStatus.create(
        using_db=conn, hook_id=pending.hook_id, deployment_id=deployment_id, commit_sha=pending.commit_sha,
        state=CONCLUSION_STATES[conclusion],
        description=_description(await _label(conn, deployment), words),
        target_url=pending.target_url, created_at=moment, next_attempt_at=moment,
    )
