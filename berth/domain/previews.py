"""Pull-request previews: one PreviewEnvironment per (service, pull request), its deployments,
and its closing. What isolates a preview's deployments is `berth.domain.preview_isolation`;
the teardown of what a closed preview ran is the runner's (`berth.runner.preview_teardown`).

Life of a preview:
- opened / new commits / reopened: the row is created or updated (head, title, status
  ACTIVE, `updated_at` now) and a deployment of the head SHA is queued into it;
- closed or merged, `closePreview`, or idle for BERTH_PREVIEW_TTL_HOURS: CLOSED with
  `closedAt`; its queued or running deployments are canceled; the runner then removes every
  container, network and volume labelled with it and marks it CLEANED with `cleanedAt`.

A pull request from a fork is SKIPPED unless the hook allows fork previews; when it does,
the deployment gets no secret env values (the frozen input says `secretsWithheld`).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from tortoise.exceptions import IntegrityError

from berth.auth.principal import Principal
from berth.domain.cancel import cancel_for_teardown
from berth.domain.deployments import start_deployment
from berth.domain.errors import UserErrorCode, UserFacingError, not_found
from berth.domain.git_events import PullRequestAction, PullRequestEvent
from berth.domain.git_hooks import actor_subject
from berth.domain.preview_isolation import PreviewTarget, route_url
from berth.domain.queries import get_visible, visible
from berth.domain.specs import StartSpec
from berth.models import Deployment, Service
from berth.models.enums import DeploymentConclusion, PreviewStatus, SourceType, TokenKind, WebhookOutcome
from berth.models.git import GitHook, PreviewEnvironment
from berth.models.lifecycle import ACTIVE_STATUSES, now

_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_MAX_COPIED = 255
_DEPLOYS = (PullRequestAction.OPENED, PullRequestAction.UPDATED, PullRequestAction.REOPENED)


def _copied(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = "".join(ch for ch in value if ch.isprintable())[:_MAX_COPIED]
    return cleaned or None


def preview_label(preview: PreviewEnvironment) -> str:
    return f"pull request #{preview.pull_request}"


def target_of(preview: PreviewEnvironment, fetch_ref: str | None = None) -> PreviewTarget:
    return PreviewTarget(
        preview_id=preview.id, pull_request=preview.pull_request, title=preview.title,
        head_ref=preview.head_ref, head_sha=preview.head_sha, base_ref=preview.base_ref,
        author=preview.author, fork=preview.fork, fetch_ref=fetch_ref,
    )


def _principal(hook: GitHook, event: PullRequestEvent) -> Principal:
    """The hook, with the pull request's author as the payload names it (unverified)."""
    return Principal(
        subject=actor_subject(hook), email=None, role=None, token_kind=TokenKind.WEBHOOK,
        token_name=_copied(event.author), scopes=frozenset(), project_ids=frozenset(),
    )


async def handle_pull_request(
    hook: GitHook, event: PullRequestEvent, delivery_fields: dict[str, Any]
) -> tuple[WebhookOutcome, str | None, Deployment | None]:
    """What a pull-request event does to the hook's service's preview (previews are on)."""
    number = event.number
    if event.action is PullRequestAction.CLOSED:
        preview = await PreviewEnvironment.get_or_none(service_id=hook.service_id, pull_request=number)
        if preview is None or preview.status is not PreviewStatus.ACTIVE:
            return WebhookOutcome.SKIPPED, f"pull request #{number} has no active preview", None
        how = "merged" if event.merged else "closed"
        await close(preview, f"pull request #{number} was {how}")
        return WebhookOutcome.PREVIEW_CLOSED, None, None
    if event.action not in _DEPLOYS:
        return WebhookOutcome.SKIPPED, f"pull request #{number}: this action deploys nothing", None
    if event.fork and not hook.allow_fork_previews:
        return (WebhookOutcome.SKIPPED,
                f"pull request #{number} comes from a fork: fork previews are off for this hook", None)
    if not _SHA.fullmatch(event.head_sha):
        return WebhookOutcome.SKIPPED, f"pull request #{number}: the head is not a commit SHA", None
    service = await Service.get(id=hook.service_id)
    if service.deleted_at is not None:
        return WebhookOutcome.SKIPPED, f"service {service.name} is deleted", None
    if service.source_type == SourceType.IMAGE:
        return WebhookOutcome.SKIPPED, f"service {service.name} deploys an image, not a repository", None
    preview = await _open(service, event)
    spec = StartSpec(service_id=service.id, ref=event.head_ref,
                     reason=f"pull request #{number} at {event.head_sha[:12]}")
    try:
        deployment = await start_deployment(_principal(hook, event), spec, commit_sha=event.head_sha,
                                            preview=target_of(preview, event.fetch_ref))
    except UserFacingError as refused:
        # QUEUE_FULL, an inline compose service (no ref to deploy): nothing started.
        return WebhookOutcome.SKIPPED, refused.message, None
    return WebhookOutcome.PREVIEW_DEPLOYED, None, deployment


async def _open(service: Service, event: PullRequestEvent) -> PreviewEnvironment:
    """The pull request's preview, created or brought up to date and ACTIVE."""
    moment = now()
    facts: dict[str, Any] = {
        "title": _copied(event.title), "head_ref": event.head_ref[:_MAX_COPIED], "head_sha": event.head_sha,
        "base_ref": event.base_ref[:_MAX_COPIED], "author": _copied(event.author), "fork": event.fork,
        "status": PreviewStatus.ACTIVE, "updated_at": moment,
    }
    preview = await PreviewEnvironment.get_or_none(service_id=service.id, pull_request=event.number)
    if preview is None:
        try:
            return await PreviewEnvironment.create(
                service_id=service.id, pull_request=event.number, created_at=moment, **facts
            )
        except IntegrityError:  # the same pull request's other event won the insert
            preview = await PreviewEnvironment.get(service_id=service.id, pull_request=event.number)
    # Reopened after a teardown: a new life, so the old closing is forgotten.
    facts.update(closed_at=None, cleaned_at=None)
    await PreviewEnvironment.filter(id=preview.id).update(**facts)
    return await PreviewEnvironment.get(id=preview.id)


async def close(preview: PreviewEnvironment, reason: str) -> PreviewEnvironment:
    """ACTIVE → CLOSED and its deployments canceled; the runner tears it down next."""
    moment = now()
    await PreviewEnvironment.filter(id=preview.id, status=PreviewStatus.ACTIVE).update(
        status=PreviewStatus.CLOSED, closed_at=moment
    )
    for deployment_id in await active_deployments(preview.id):
        await cancel_for_teardown(deployment_id, f"the preview closed: {reason}")
    return await PreviewEnvironment.get(id=preview.id)


async def active_deployments(preview_id: int) -> list[int]:
    rows = await Deployment.filter(preview_id=preview_id, status__in=sorted(ACTIVE_STATUSES)).order_by("id")
    return [row.id for row in rows]


async def get_visible_preview(principal: Principal, pk: int) -> PreviewEnvironment | None:
    """Visible exactly when its service is."""
    preview = await PreviewEnvironment.get_or_none(id=pk)
    if preview is None or await get_visible(principal, Service, preview.service_id) is None:
        return None
    return preview


async def close_preview(principal: Principal, pk: int) -> PreviewEnvironment:
    """`closePreview`: as a closed pull request would."""
    preview = await get_visible_preview(principal, pk)
    if preview is None:
        raise not_found("preview", ["id"])
    if preview.status is not PreviewStatus.ACTIVE:
        raise UserFacingError(
            UserErrorCode.CONFLICT, f"the preview of {preview_label(preview)} is already {preview.status.value}",
            ["id"],
        )
    return await close(preview, "closed by hand")


async def previews_of_service(service_id: int, status: PreviewStatus | None = None) -> list[PreviewEnvironment]:
    """The caller has checked that the service is visible; newest pull request first."""
    query = PreviewEnvironment.filter(service_id=service_id)
    if status is not None:
        query = query.filter(status=status)
    return list(await query.order_by("-pull_request"))


async def visible_previews(principal: Principal, status: PreviewStatus | None = None) -> list[PreviewEnvironment]:
    services = await visible(principal, Service.all()).values_list("id", flat=True)
    query = PreviewEnvironment.filter(service_id__in=list(services))
    if status is not None:
        query = query.filter(status=status)
    return list(await query.order_by("service_id", "-pull_request"))


async def close_idle(ttl_hours: float) -> list[PreviewEnvironment]:
    """Close the previews no pull-request event has touched for `ttl_hours` (the runner
    then cleans them like any closed preview). Returns those closed."""
    threshold = now() - timedelta(hours=ttl_hours)
    idle = await PreviewEnvironment.filter(status=PreviewStatus.ACTIVE, updated_at__lt=threshold).order_by("id")
    closed = []
    for preview in idle:
        if await active_deployments(preview.id):
            continue  # a deployment of it is running: it is not idle
        closed.append(await close(preview, f"idle for more than {ttl_hours:g} hours"))
    return closed


async def addresses_of(preview: PreviewEnvironment) -> list[str]:
    """Where an ACTIVE preview answers, as its newest successful deployment recorded it:
    its route's URL through the proxy first (when the service has a route), then the
    ephemeral loopback ports."""
    if preview.status is not PreviewStatus.ACTIVE:
        return []
    newest = await Deployment.filter(preview_id=preview.id, conclusion=DeploymentConclusion.SUCCEEDED).order_by(
        "-created_at", "-id"
    ).only("id", "frozen_input").first()
    frozen = (newest.frozen_input or {}) if newest is not None else {}
    recorded = frozen.get("preview") or {}
    url = route_url(frozen.get("route"))
    return ([url] if url else []) + [str(address) for address in recorded.get("addresses") or []]


async def close_services_deleted() -> list[PreviewEnvironment]:
    """Close the ACTIVE previews of deleted services (the runner cleans them next)."""
    deleted = await Service.filter(deleted_at__isnull=False).values_list("id", flat=True)
    open_previews = await PreviewEnvironment.filter(
        service_id__in=list(deleted), status=PreviewStatus.ACTIVE
    ).order_by("id")
    return [await close(preview, "its service was deleted") for preview in open_previews]
