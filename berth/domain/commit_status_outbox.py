"""The commit-status outbox from the sender's side: claiming due rows, recording the result.

Rows are written by the lifecycle change they report (`berth.models.commit_outbox`). A row
is *outstanding* until it is sent or abandoned.

Order: statuses of one commit from one hook go out in the order they were written (the
row id), so a commit never shows `success` and then the `pending` that preceded it. Only
the oldest outstanding row of each (hook, commit) may be claimed; the next one waits until
that one is sent or abandoned.

Claiming is a guarded update (`… WHERE id = ? AND attempts = ? AND next_attempt_at <= now`)
that bumps `attempts` and pushes `next_attempt_at` a lease ahead: of two senders (two
runner processes on PostgreSQL) exactly one claims a row, and a sender that dies while a
request is in flight leaves the row to be tried again once the lease passes. The result is
written fenced by the claimed attempt, so a late answer of a lapsed claim changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from berth.domain.commit_statuses import StatusRequest, build_request, context_name
from berth.domain.secrets import decrypt
from berth.models import Deployment, Environment, PreviewEnvironment, Service
from berth.models.git import CommitStatus, GitHook
from berth.models.lifecycle import now

# Outstanding rows looked at per round: the oldest first, so a group's head is always
# among them before its later rows.
SCAN_LIMIT = 500
MAX_ERROR = 500


@dataclass(frozen=True)
class Claimed:
    row: CommitStatus
    # The attempt this claim makes (1 for the first), the fence of its result.
    attempt: int


@dataclass(frozen=True)
class Round:
    claimed: list[Claimed]
    # When the earliest outstanding row not claimed now falls due (None: none waits).
    next_due: datetime | None


async def claim_due(lease_seconds: float, limit: int, moment: datetime | None = None) -> Round:
    moment = moment or now()
    outstanding = await CommitStatus.filter(sent_at__isnull=True, abandoned_at__isnull=True).order_by(
        "id").limit(SCAN_LIMIT)
    heads: dict[tuple[int, str], CommitStatus] = {}
    for row in outstanding:
        heads.setdefault((row.hook_id, row.commit_sha), row)
    claimed: list[Claimed] = []
    next_due: datetime | None = None
    for row in sorted(heads.values(), key=lambda r: r.id):
        if len(claimed) >= limit:
            break
        if row.next_attempt_at > moment:
            next_due = row.next_attempt_at if next_due is None else min(next_due, row.next_attempt_at)
            continue
        taken = await CommitStatus.filter(
            id=row.id, attempts=row.attempts, sent_at__isnull=True, abandoned_at__isnull=True,
            next_attempt_at__lte=moment,
        ).update(attempts=row.attempts + 1, next_attempt_at=moment + timedelta(seconds=lease_seconds))
        if taken == 1:
            row.attempts += 1
            claimed.append(Claimed(row, row.attempts))
    return Round(claimed, next_due)


async def mark_sent(claim: Claimed) -> bool:
    moment = now()
    return await CommitStatus.filter(id=claim.row.id, attempts=claim.attempt, sent_at__isnull=True).update(
        sent_at=moment, next_attempt_at=moment, last_error=None) == 1


async def mark_failed(claim: Claimed, error: str, retry_at: datetime | None) -> bool:
    """Record a failed attempt: try again at `retry_at`, or abandon (None)."""
    fields: dict[str, object] = {"last_error": error[:MAX_ERROR]}
    if retry_at is None:
        fields["abandoned_at"] = now()
    else:
        fields["next_attempt_at"] = retry_at
    return await CommitStatus.filter(
        id=claim.row.id, attempts=claim.attempt, sent_at__isnull=True, abandoned_at__isnull=True,
    ).update(**fields) == 1


def retry_delay(attempts: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Exponential backoff: base, 2·base, 4·base … capped; a provider's Retry-After (within
    the cap) when it asks for longer."""
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    if retry_after is not None:
        delay = max(delay, min(cap, retry_after))
    return delay


class NotSendable(Exception):
    """The row cannot become a request (e.g. the token no longer decrypts): abandon it."""


@dataclass(frozen=True)
class Prepared:
    request: StatusRequest
    # Held only to keep it out of whatever is recorded or logged.
    token: str


def absolute_link(public_url: str | None, target: str) -> str | None:
    """The stored link made absolute on BERTH_PUBLIC_URL (None: no public address known,
    the status goes without a link)."""
    if target.startswith(("http://", "https://")):
        return target
    if public_url is None:
        return None
    return public_url.rstrip("/") + target


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


def scrub(text: str, token: str) -> str:
    """`text` (an error, a provider's answer) with the token cut out, whatever it echoed."""
    return text.replace(token, "***") if token else text
