"""The commit-status outbox from the sender's side: claiming due rows, recording the result.

Rows are written by the lifecycle change they report (`berth.models.commit_outbox`). A row
is *outstanding* until it is sent or abandoned. Claiming, fencing and backoff are those of
every outbox (`berth.domain.outbox`); the group whose order is kept is a (hook, commit):
a commit never shows `success` and then the `pending` that preceded it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from berth.domain import outbox
from berth.domain.commit_statuses import StatusRequest, build_request, context_name
from berth.domain.outbox import MAX_ERROR, absolute_link, retry_delay, scrub
from berth.domain.secrets import decrypt
from berth.models import Deployment, Environment, PreviewEnvironment, Service
from berth.models.git import CommitStatus, GitHook
from berth.models.lifecycle import now

__all__ = ["Claimed", "NotSendable", "Prepared", "Round", "absolute_link", "claim_due", "mark_failed",
           "mark_sent", "prepare", "retry_delay", "scrub"]

Claimed = outbox.Claimed[CommitStatus]
Round = outbox.Round[CommitStatus]
_OUTSTANDING = {"sent_at__isnull": True, "abandoned_at__isnull": True}


async def claim_due(lease_seconds: float, limit: int, moment: datetime | None = None) -> Round:
    return await outbox.claim_due(CommitStatus, _OUTSTANDING, lambda row: (row.hook_id, row.commit_sha),
                                  lease_seconds, limit, moment)


async def mark_sent(claim: Claimed) -> bool:
    moment = now()
    return await outbox.settle(claim, {"sent_at__isnull": True}, sent_at=moment, next_attempt_at=moment,
                               last_error=None)


async def mark_failed(claim: Claimed, error: str, retry_at: datetime | None) -> bool:
    """Record a failed attempt: try again at `retry_at`, or abandon (None)."""
    fields: dict[str, object] = {"last_error": error[:MAX_ERROR]}
    if retry_at is None:
        fields["abandoned_at"] = now()
    else:
        fields["next_attempt_at"] = retry_at
    return await outbox.settle(claim, _OUTSTANDING, **fields)


class NotSendable(Exception):
    """The row cannot become a request (e.g. the token no longer decrypts): abandon it."""


@dataclass(frozen=True)
class Prepared:
    request: StatusRequest
    # Held only to keep it out of whatever is recorded or logged.
    token: str


async def prepare(claim: Claimed, public_url: str | None) -> Prepared:
    row = claim.row
    hook = await GitHook.get_or_none(id=row.hook_id)
    if hook is None or not hook.status_token_enc:
        raise NotSendable("the hook no longer reports statuses")
    try:
        token = decrypt(hook.status_token_enc)
    except Exception:
        # A changed data key: say so, never with the ciphertext or anything derived from it.
        raise NotSendable("the status token could not be decrypted (was the data key changed?)") from None
    deployment = await Deployment.get(id=row.deployment_id)
    environment = await Environment.get(id=deployment.environment_id)
    service = await Service.get(id=deployment.service_id)
    preview = (
        await PreviewEnvironment.get_or_none(id=deployment.preview_id) if deployment.preview_id else None
    )
    request = build_request(
        hook, token, sha=row.commit_sha, state=row.state, description=row.description,
        context=context_name(environment.name, service.name, preview.pull_request if preview else None),
        target_url=absolute_link(public_url, row.target_url),
    )
    return Prepared(request, token)

