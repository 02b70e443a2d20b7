"""Git hooks: creating and deleting them, who may see them, and where providers POST.

A hook belongs to a service, so it is visible exactly when its service is (`get_visible`);
its deliveries are visible when their hook is. This module is the one place for both.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from berth.auth.principal import Principal
from berth.domain.commit_statuses import check_status_settings
from berth.domain.errors import ErrorList, not_found
from berth.domain.queries import Page, get_visible, newest_first_page, visible
from berth.domain.secrets import decrypt, encrypt
from berth.domain.validation import git_ref_problem
from berth.models import Service
from berth.models.enums import GitProvider
from berth.models.git import CommitStatus, GitHook, WebhookDelivery
from berth.models.lifecycle import now

MAX_REPOSITORY = 255
# owner/name, GitLab also group/subgroup/…/name: path segments of the characters providers allow.
_REPOSITORY = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]*(/[A-Za-z0-9_.][A-Za-z0-9_.-]*)+")
# 32 random bytes from the CSPRNG, URL-safe: 43 characters every provider's form accepts.
SECRET_BYTES = 32


@dataclass(frozen=True)
class GitHookSpec:
    service_id: int
    provider: GitProvider
    repository: str
    branch: str | None = None
    previews: bool | None = None
    allow_fork_previews: bool | None = None
    # Commit statuses (berth.domain.commit_statuses): the provider API root and a token.
    status_api_url: str | None = None
    status_token: str | None = None

    def __repr__(self) -> str:
        # The token is a credential: never in a log line or a traceback.
        token = "***" if self.status_token is not None else None
        return (f"GitHookSpec(service_id={self.service_id}, provider={self.provider}, "
                f"repository={self.repository!r}, branch={self.branch!r}, status_token={token})")


def repository_problem(repository: str) -> str | None:
    if len(repository) > MAX_REPOSITORY or not _REPOSITORY.fullmatch(repository) or ".." in repository:
        return f"repository must be owner/name as the provider spells it (at most {MAX_REPOSITORY} characters)"
    return None


def same_repository(a: str, b: str) -> bool:
    # GitHub, GitLab and Gitea all treat repository paths case-insensitively.
    return a.casefold() == b.casefold()


def hook_path(hook: GitHook) -> str:
    return f"/hooks/{hook.provider.value.lower()}/{hook.id}"


def hook_url(public_url: str, hook: GitHook) -> str:
    return public_url.rstrip("/") + hook_path(hook)


def hook_secret(hook: GitHook) -> str:
    """The plaintext secret, for verifying a request only."""
    return decrypt(hook.secret_enc)


def actor_subject(hook: GitHook) -> str:
    return f"githook:{hook.id}"


async def get_visible_hook(principal: Principal, pk: int) -> GitHook | None:
    hook = await GitHook.get_or_none(id=pk)
    if hook is None or await get_visible(principal, Service, hook.service_id) is None:
        return None
    return hook


async def get_visible_delivery(principal: Principal, pk: int) -> WebhookDelivery | None:
    delivery = await WebhookDelivery.get_or_none(id=pk)
    if delivery is None or await get_visible_hook(principal, delivery.hook_id) is None:
        return None
    return delivery


async def hooks_of_service(service_id: int) -> list[GitHook]:
    """The caller has checked that the service is visible."""
    return list(await GitHook.filter(service_id=service_id).order_by("id"))


async def visible_hooks(principal: Principal) -> list[GitHook]:
    services = visible(principal, Service.all()).values_list("id", flat=True)
    return list(await GitHook.filter(service_id__in=list(await services)).order_by("id"))


async def create_git_hook(principal: Principal, spec: GitHookSpec) -> tuple[GitHook, str]:
    """The new hook and its secret: the only time the plaintext leaves the server."""
    service = await get_visible(principal, Service, spec.service_id)
    if service is None or service.deleted_at is not None:
        raise not_found("service", ["input", "serviceId"])
    errors = ErrorList()
    if problem := repository_problem(spec.repository):
        errors.add(["input", "repository"], problem)
    if spec.branch is not None and (problem := git_ref_problem(spec.branch)):
        errors.add(["input", "branch"], f"branch {problem}")
    statuses = check_status_settings(spec.provider, spec.status_api_url, spec.status_token, errors, ["input"])
    errors.raise_if_any()
    secret = secrets.token_urlsafe(SECRET_BYTES)
    hook = await GitHook.create(
        service_id=service.id,
        provider=spec.provider,
        repository=spec.repository,
        branch=spec.branch,
        previews=bool(spec.previews),
        allow_fork_previews=bool(spec.allow_fork_previews),
        secret_enc=encrypt(secret),
        status_api_url=statuses.api_url,
        status_token_enc=statuses.token_enc,
        created_at=now(),
    )
    return hook, secret


async def delete_git_hook(principal: Principal, pk: int) -> GitHook:
    """Removes the hook and its ledger; deployments it started stay (their actor names it)."""
    hook = await get_visible_hook(principal, pk)
    if hook is None:
        raise not_found("git hook", ["id"])
    async with in_transaction():
        await WebhookDelivery.filter(hook_id=hook.id).delete()
        await CommitStatus.filter(hook_id=hook.id).delete()
        await hook.delete()
    return hook


async def list_deliveries(hook_id: int, first: int | None = None, after: str | None = None) -> Page[WebhookDelivery]:
    """A hook's ledger, newest first, keyset-paged on (received_at, id) like deployments.
    The caller has checked that the hook is visible."""
    return await newest_first_page(WebhookDelivery.filter(hook_id=hook_id), "received_at", first, after)
