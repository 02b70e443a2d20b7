"""Receiving a provider's webhook: verify, refuse, dedupe, act, and record it in the ledger.

Order of the checks, and what each refusal stores:
- unknown hook, or a hook of another provider: nothing (the caller answers 404);
- body over the limit, signature missing or wrong: a REJECTED delivery without payload
  (an unverified body is never stored);
- wrong content type, a body that is not JSON, an event without the fields Berth needs, a
  repository other than the hook's: a REJECTED delivery without payload;
- a delivery id seen before for this hook: a DUPLICATE delivery, nothing started.

Dedupe is the unique (hook, dedupe_key) pair: the first delivery under a provider id
claims the key by inserting its row before anything is started, so of two identical
deliveries arriving at once exactly one inserts and acts; the other's insert fails and it
is recorded as DUPLICATE. The claimed row starts with a reason saying processing did not
finish, so a crash between claim and result leaves an honest record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from berth.auth.principal import Principal
from berth.domain import audit, previews
from berth.domain.deployments import start_deployment
from berth.domain.errors import UserErrorCode, UserFacingError, not_found
from berth.domain.git_events import GitEvent, PingEvent, PullRequestEvent, PushEvent
from berth.domain.git_hooks import actor_subject, get_visible_delivery, hook_secret, same_repository
from berth.domain.specs import StartSpec
from berth.domain.webhook_providers import (
    PayloadProblem,
    delivery_id,
    event_name,
    missing_event_reason,
    parse_event,
    signature_problem,
)
from berth.models import Deployment, Service
from berth.models.audit import AuditOutcome
from berth.models.enums import GitProvider, SourceType, TokenKind, WebhookOutcome
from berth.models.git import GitHook, WebhookDelivery
from berth.models.lifecycle import now
from berth.models.sql import CONNECTION

MAX_BODY_BYTES = 5 * 1024 * 1024
UNKNOWN_EVENT = "unknown"
UNFINISHED = "processing did not finish"
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
# Payload text copied into records (pusher name and email): bounded, printable.
_MAX_COPIED = 255
BRANCH_PREFIX = "refs/heads/"
TAG_PREFIX = "refs/tags/"


@dataclass(frozen=True)
class Request:
    """What the HTTP layer read: header names lower-cased, the body as it came."""

    provider: GitProvider
    headers: Mapping[str, str]
    body: bytes
    content_type: str | None
    # The body was longer than MAX_BODY_BYTES (and was not read further).
    too_large: bool = False
    # The client's address, for the audit entry.
    remote_address: str | None = None


@dataclass(frozen=True)
class Result:
    delivery: WebhookDelivery
    # The HTTP status to answer with.
    status: int

    @property
    def outcome(self) -> WebhookOutcome:
        return self.delivery.outcome

    @property
    def deployment_id(self) -> int | None:
        return self.delivery.deployment_id


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _copied(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = "".join(ch for ch in value if ch.isprintable())[:_MAX_COPIED]
    return cleaned or None


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _verified_event(hook: GitHook, request: Request, event: str) -> tuple[Any, GitEvent | None]:
    """(payload, parsed event) of a request whose size and signature passed; raises Refused."""
    media = _media_type(request.content_type)
    if media == "application/x-www-form-urlencoded":
        raise Refused(415, "content type is application/x-www-form-urlencoded (the payload= form): "
                           "set the webhook's content type to application/json")
    if media != "application/json":
        raise Refused(415, f"content type must be application/json, not {media[:100] or 'none'}")
    if event == UNKNOWN_EVENT:
        raise Refused(400, missing_event_reason(hook.provider))
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "the body is not valid JSON") from None
    return payload, _parsed(hook, event, payload)


def _parsed(hook: GitHook, event: str, payload: Any) -> GitEvent | None:
    try:
        parsed = parse_event(hook.provider, event, payload)
    except PayloadProblem as problem:
        raise Refused(400, str(problem)) from None
    if isinstance(parsed, PushEvent) and not parsed.deleted and not _SHA.fullmatch(parsed.commit_sha):
        raise Refused(400, "the pushed commit is not a commit SHA")
    named = getattr(parsed, "repository", None) if parsed is not None else None
    if named is not None and not same_repository(named, hook.repository):
        raise Refused(422, f"repository {named[:_MAX_COPIED]} is not this hook's ({hook.repository})")
    return parsed


async def _record(hook: GitHook, event: str, outcome: WebhookOutcome, reason: str | None, *,
                  provider_id: str | None, remote_address: str | None = None, **fields: Any) -> WebhookDelivery:
    """A concluded delivery (refused or a repeat) and its audit entry, in one transaction."""
    async with in_transaction(CONNECTION) as conn:
        row = await WebhookDelivery.create(
            using_db=conn, hook_id=hook.id, delivery_id=provider_id, event=event, received_at=now(),
            outcome=outcome, reason=reason, **fields,
        )
        await _audit(conn, hook, row, remote_address)
    return row


async def _claim(hook: GitHook, event: str, *, provider_id: str | None, **fields: Any) -> WebhookDelivery:
    """The row that claims the dedupe key before anything is started (audited once concluded)."""
    return await WebhookDelivery.create(
        hook_id=hook.id, delivery_id=provider_id, event=event, received_at=now(), outcome=WebhookOutcome.SKIPPED,
        reason=UNFINISHED, **fields,
    )


# Deliveries that did what they were sent for (or rightly nothing); the others were refused.
_DONE = frozenset({WebhookOutcome.DEPLOYED, WebhookOutcome.SKIPPED})


async def _audit(conn: BaseDBAsyncClient, hook: GitHook, row: WebhookDelivery, remote_address: str | None) -> None:
    """The `githook.delivery` entry of a concluded delivery, on the ledger row's transaction.
    The actor is the hook only once the request proved itself with the hook's secret."""
    verified = row.outcome is not WebhookOutcome.REJECTED or row.payload is not None
    label, project_id = await audit.describe("GitHook", hook.id)
    triggered = None
    if row.deployment_id is not None:
        triggered, _ = await audit.describe("Deployment", row.deployment_id)
    details: dict[str, Any] = {
        "provider": hook.provider.value, "event": row.event, "deliveryId": row.delivery_id,
        "outcome": row.outcome.value, "reason": row.reason, "hook": label,
    }
    if triggered is not None:
        details["deployment"] = triggered
    if row.redelivery_of_id is not None:  # type: ignore[attr-defined]
        details["redeliveryOf"] = row.redelivery_of_id  # type: ignore[attr-defined]
    await audit.write(audit.Entry(
        action=audit.GITHOOK_DELIVERY,
        outcome=AuditOutcome.OK if row.outcome in _DONE else AuditOutcome.REFUSED,
        actor=_hook_actor(hook) if verified else None,
        target_type="WebhookDelivery", target_pk=row.id, target_label=label, project_id=project_id,
        remote_address=remote_address, details=details,
    ), conn)


def _hook_actor(hook: GitHook) -> dict[str, Any]:
    return {"subject": actor_subject(hook), "email": None, "role": None,
            "tokenKind": TokenKind.WEBHOOK.value, "tokenName": None, "verified": False}


async def find_hook(provider: GitProvider, hook_id: int) -> GitHook | None:
    """The hook a request names; None (answer 404, store nothing) for another provider's."""
    hook = await GitHook.get_or_none(id=hook_id)
    return hook if hook is not None and hook.provider is provider else None


async def receive(hook: GitHook, request: Request) -> Result:
    """Verify and act on one request to `hook`; every outcome is recorded."""
    event = event_name(request.provider, request.headers) or UNKNOWN_EVENT
    provider_id = delivery_id(request.provider, request.headers)
    try:
        if request.too_large:
            raise Refused(413, f"the body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB")
        if problem := signature_problem(hook.provider, request.headers, request.body, hook_secret(hook)):
            raise Refused(401, problem)
        payload, parsed = _verified_event(hook, request, event)
    except Refused as refused:
        row = await _record(hook, event, WebhookOutcome.REJECTED, refused.reason, provider_id=provider_id,
                            remote_address=request.remote_address)
        return Result(row, refused.status)
    commit: str | None = parsed.commit_sha if isinstance(parsed, PushEvent) and not parsed.deleted else None
    if isinstance(parsed, PullRequestEvent):
        commit = parsed.head_sha
    try:
        row = await _claim(hook, event, provider_id=provider_id, dedupe_key=provider_id, payload=payload,
                           commit_sha=commit)
    except IntegrityError:
        row = await _record(
            hook, event, WebhookOutcome.DUPLICATE, f"delivery {provider_id} was received before",
            provider_id=provider_id, commit_sha=commit, remote_address=request.remote_address,
        )
        return Result(row, 202)
    await _act(hook, row, parsed, request.remote_address)
    return Result(row, 200 if isinstance(parsed, PingEvent) else 202)


async def _act(hook: GitHook, row: WebhookDelivery, parsed: GitEvent | None,
               remote_address: str | None = None) -> None:
    outcome, reason, deployment = await dispatch(hook, row, parsed)
    row.outcome = outcome
    row.reason = reason  # type: ignore[assignment]  # a nullable TextField, typed str by Tortoise
    row.deployment_id = deployment.id if deployment is not None else None
    # The ledger's conclusion and its audit entry commit together.
    async with in_transaction(CONNECTION) as conn:
        await row.save(using_db=conn, update_fields=["outcome", "reason", "deployment_id"])
        await _audit(conn, hook, row, remote_address)


async def dispatch(hook: GitHook, row: WebhookDelivery,
                   parsed: GitEvent | None) -> tuple[WebhookOutcome, str | None, Deployment | None]:
    if parsed is None:
        return WebhookOutcome.SKIPPED, f"{row.event} events deploy nothing", None
    if isinstance(parsed, PingEvent):
        return WebhookOutcome.SKIPPED, "ping: the hook is connected", None
    if isinstance(parsed, PullRequestEvent):
        if not hook.previews:
            return WebhookOutcome.SKIPPED, "previews are off for this hook", None
        fields = {"id": row.id, "delivery_id": row.delivery_id, "event": row.event}
        return await previews.handle_pull_request(hook, parsed, fields)
    return await _push(hook, parsed)


def push_skip_reason(hook: GitHook, push: PushEvent) -> str | None:
    """Why a push deploys nothing, in words; None when it deploys."""
    if push.ref.startswith(TAG_PREFIX):
        return f"tag {push.ref.removeprefix(TAG_PREFIX)} was pushed: tags deploy nothing"
    if not push.ref.startswith(BRANCH_PREFIX):
        return f"{push.ref[:_MAX_COPIED]} is not a branch"
    branch = push.ref.removeprefix(BRANCH_PREFIX)
    if push.deleted:
        return f"branch {branch} was deleted"
    if hook.branch is None:
        return "this hook deploys no branch (its branch is not set)"
    if branch != hook.branch:
        return f"branch {branch} is not {hook.branch}"
    return None


def webhook_principal(hook: GitHook, push: PushEvent) -> Principal:
    """Who a push deployment is recorded as: the hook, with the pusher the payload names
    (unverified: the provider says so, nobody signed in)."""
    return Principal(
        subject=actor_subject(hook),
        email=_copied(push.pusher_email),
        role=None,
        token_kind=TokenKind.WEBHOOK,
        token_name=_copied(push.pusher_name),
        scopes=frozenset(),
        project_ids=frozenset(),
    )


async def _push(hook: GitHook, push: PushEvent) -> tuple[WebhookOutcome, str | None, Deployment | None]:
    if reason := push_skip_reason(hook, push):
        return WebhookOutcome.SKIPPED, reason, None
    service = await Service.get(id=hook.service_id)
    if service.deleted_at is not None:
        return WebhookOutcome.SKIPPED, f"service {service.name} is deleted", None
    if service.source_type == SourceType.IMAGE:
        return WebhookOutcome.SKIPPED, f"service {service.name} deploys an image, not a repository", None
    branch = push.ref.removeprefix(BRANCH_PREFIX)
    spec = StartSpec(service_id=service.id, ref=branch, reason=f"push of {push.commit_sha[:12]} to {branch}")
    try:
        deployment = await start_deployment(webhook_principal(hook, push), spec, commit_sha=push.commit_sha)
    except UserFacingError as refused:
        # QUEUE_FULL, or a service that cannot take a ref (inline compose): nothing started.
        return WebhookOutcome.SKIPPED, refused.message, None
    return WebhookOutcome.DEPLOYED, None, deployment


async def redeliver(principal: Principal, delivery_pk: int) -> WebhookDelivery:
    """Process a stored delivery's payload again (it was verified when it was stored; dedupe
    does not apply) and record the result as a new delivery."""
    original = await get_visible_delivery(principal, delivery_pk)
    if original is None:
        raise not_found("webhook delivery", ["id"])
    if original.payload is None:
        raise UserFacingError(
            UserErrorCode.INVALID_INPUT,
            f"delivery has no stored payload to process again (it was {original.outcome.value})", ["id"],
        )
    hook = await GitHook.get(id=original.hook_id)
    fields: dict[str, Any] = {"provider_id": original.delivery_id, "redelivery_of_id": original.id}
    try:
        parsed = _parsed(hook, original.event, original.payload)
    except Refused as refused:
        return await _record(hook, original.event, WebhookOutcome.REJECTED, refused.reason, **fields)
    row = await _claim(hook, original.event, payload=original.payload, commit_sha=original.commit_sha, **fields)
    await _act(hook, row, parsed)
    return row
