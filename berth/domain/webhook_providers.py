"""What each git provider sends: its headers, how it signs, and its payload shapes.

Everything provider-specific about a webhook lives here; the rest of Berth sees a verified
request only as the provider's event name, its delivery id, and a parsed `GitEvent`.

Signatures are checked on the raw body, in constant time:
- GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`
- Gitea: `X-Gitea-Signature: <hex HMAC-SHA256(secret, body)>`
- GitLab: `X-Gitlab-Token: <secret>` (GitLab sends the token itself, it does not sign)
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from berth.domain.git_events import GitEvent, PingEvent, PullRequestAction, PullRequestEvent, PushEvent
from berth.models.enums import GitProvider

ZERO_SHA = "0" * 40


@dataclass(frozen=True)
class ProviderHeaders:
    event: str
    delivery: str
    signature: str


HEADERS: dict[GitProvider, ProviderHeaders] = {
    GitProvider.GITHUB: ProviderHeaders("x-github-event", "x-github-delivery", "x-hub-signature-256"),
    GitProvider.GITLAB: ProviderHeaders("x-gitlab-event", "x-gitlab-event-uuid", "x-gitlab-token"),
    GitProvider.GITEA: ProviderHeaders("x-gitea-event", "x-gitea-delivery", "x-gitea-signature"),
}

# The path segment of `POST /hooks/{provider}/{hookId}`.
PATH_NAMES: dict[str, GitProvider] = {provider.value.lower(): provider for provider in GitProvider}

# Header names as the provider's documentation writes them, for reasons people read.
_DISPLAY = {
    "x-hub-signature-256": "X-Hub-Signature-256",
    "x-gitea-signature": "X-Gitea-Signature",
    "x-gitlab-token": "X-Gitlab-Token",
    "x-github-event": "X-GitHub-Event",
    "x-gitlab-event": "X-Gitlab-Event",
    "x-gitea-event": "X-Gitea-Event",
}


class PayloadProblem(Exception):
    """The verified payload is not in the shape the provider documents; the message says where."""


def _hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_problem(provider: GitProvider, headers: Mapping[str, str], body: bytes, secret: str) -> str | None:
    """None when the request carries the hook's secret; otherwise why not, in words.

    The words never include what was sent or what was expected."""
    name = HEADERS[provider].signature
    sent = headers.get(name)
    if not sent:
        return f"{_DISPLAY[name]} header is missing"
    if provider is GitProvider.GITLAB:
        matches = hmac.compare_digest(sent.encode(), secret.encode())
    else:
        if provider is GitProvider.GITHUB:
            prefix, _, sent = sent.partition("=")
            if prefix != "sha256" or not sent:
                return f"{_DISPLAY[name]} is not of the form sha256=<hex>"
        matches = hmac.compare_digest(sent.strip().lower().encode(), _hmac_hex(secret, body).encode())
    return None if matches else ("token does not match" if provider is GitProvider.GITLAB
                                 else "signature does not match")


def event_name(provider: GitProvider, headers: Mapping[str, str]) -> str | None:
    value = headers.get(HEADERS[provider].event)
    return value.strip()[:64] if value and value.strip() else None


def missing_event_reason(provider: GitProvider) -> str:
    return f"{_DISPLAY[HEADERS[provider].event]} header is missing"


def delivery_id(provider: GitProvider, headers: Mapping[str, str]) -> str | None:
    value = headers.get(HEADERS[provider].delivery)
    return value.strip()[:255] if value and value.strip() else None


# ---------------------------------------------------------------- payload shapes

def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _text(data: Any, *path: str, required: bool = True) -> str | None:
    value = _get(data, *path)
    if isinstance(value, str) and value:
        return value
    if required:
        raise PayloadProblem(f"the payload has no {'.'.join(path)}")
    return None


def _number(data: Any, *path: str) -> int:
    value = _get(data, *path)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadProblem(f"the payload has no {'.'.join(path)}")
    return value


def _github_like_push(payload: dict[str, Any], provider: GitProvider) -> PushEvent:
    after = _text(payload, "after") or ZERO_SHA
    deleted = bool(payload.get("deleted")) or after == ZERO_SHA
    if provider is GitProvider.GITEA:
        name = _text(payload, "pusher", "login", required=False) or _text(
            payload, "pusher", "username", required=False) or _text(payload, "pusher", "full_name", required=False)
    else:
        name = _text(payload, "pusher", "name", required=False)
    return PushEvent(
        repository=_text(payload, "repository", "full_name") or "",
        ref=_text(payload, "ref") or "",
        commit_sha=after,
        deleted=deleted,
        pusher_name=name,
        pusher_email=_text(payload, "pusher", "email", required=False),
    )


def _gitlab_push(payload: dict[str, Any]) -> PushEvent:
    after = _text(payload, "after", required=False) or ZERO_SHA
    email = _text(payload, "user_email", required=False)
    email = _text(payload, "user_email", required=False)
    return PushEvent(
        repository=_text(payload, "project", "path_with_namespace") or "",
        ref=_text(payload, "ref") or "",
        # checkout_sha: the ref's new head (null for a deletion); `after` says the same for a branch.
        commit_sha=_text(payload, "checkout_sha", required=False) or after,
        deleted=after == ZERO_SHA,
        pusher_name=_text(payload, "user_username", required=False) or _text(payload, "user_name", required=False),
        # GitLab writes "[REDACTED]" where a user hides their address.
        pusher_email=email if email and "@" in email else None,
    )


_GITHUB_ACTIONS = {
    "opened": PullRequestAction.OPENED,
    "synchronize": PullRequestAction.UPDATED,
    "synchronized": PullRequestAction.UPDATED,  # Gitea's spelling
    "reopened": PullRequestAction.REOPENED,
    "closed": PullRequestAction.CLOSED,
}


def _github_like_pull_request(payload: dict[str, Any], provider: GitProvider) -> PullRequestEvent:
    pr = payload.get("pull_request")
    if not isinstance(pr, dict):
        raise PayloadProblem("the payload has no pull_request")
    number = _number(payload, "number") if "number" in payload else _number(pr, "number")
    base_repo = _text(payload, "repository", "full_name") or ""
    head_repo = _text(pr, "head", "repo", "full_name", required=False)
    return PullRequestEvent(
        repository=base_repo,
        action=_GITHUB_ACTIONS.get(str(payload.get("action")), PullRequestAction.OTHER),
        number=number,
        title=_text(pr, "title", required=False),
        head_ref=_text(pr, "head", "ref") or "",
        head_sha=_text(pr, "head", "sha") or "",
        base_ref=_text(pr, "base", "ref") or "",
        author=_text(pr, "user", "login", required=False),
        fork=head_repo is not None and head_repo.casefold() != base_repo.casefold(),
        merged=bool(pr.get("merged")),
        fetch_ref=f"refs/pull/{number}/head",
    )


_GITLAB_ACTIONS = {
    "open": PullRequestAction.OPENED,
    "reopen": PullRequestAction.REOPENED,
    "close": PullRequestAction.CLOSED,
    "merge": PullRequestAction.CLOSED,
}


def _gitlab_merge_request(payload: dict[str, Any]) -> PullRequestEvent:
    attributes = payload.get("object_attributes")
    if not isinstance(attributes, dict):
        raise PayloadProblem("the payload has no object_attributes")
    raw_action = str(attributes.get("action"))
    action = _GITLAB_ACTIONS.get(raw_action, PullRequestAction.OTHER)
    # `update` is also sent for a title or label change; only one with `oldrev` brought commits.
    if raw_action == "update" and attributes.get("oldrev"):
        action = PullRequestAction.UPDATED
    number = _number(attributes, "iid")
    source_project = attributes.get("source_project_id")
    target_project = attributes.get("target_project_id")
    return PullRequestEvent(
        repository=_text(payload, "project", "path_with_namespace") or "",
        action=action,
        number=number,
        title=_text(attributes, "title", required=False),
        head_ref=_text(attributes, "source_branch") or "",
        head_sha=_text(attributes, "last_commit", "id") or "",
        base_ref=_text(attributes, "target_branch") or "",
        author=_text(payload, "user", "username", required=False),
        fork=source_project is not None and source_project != target_project,
        merged=raw_action == "merge" or attributes.get("state") == "merged",
        fetch_ref=f"refs/merge-requests/{number}/head",
    )


def parse_event(provider: GitProvider, event: str, payload: Any) -> GitEvent | None:
    """The parsed event, or None for an event Berth does not act on (issues, releases, …).

    Raises PayloadProblem when an event Berth acts on lacks a field it needs."""
    if not isinstance(payload, dict):
        raise PayloadProblem("the payload is not a JSON object")
    if provider is GitProvider.GITLAB:
        kind = payload.get("object_kind")
        if event in ("Push Hook", "Tag Push Hook") or kind in ("push", "tag_push"):
            return _gitlab_push(payload)
        if event == "Merge Request Hook" or kind == "merge_request":
            return _gitlab_merge_request(payload)
        return None
    if event == "ping":
        return PingEvent(repository=_text(payload, "repository", "full_name", required=False))
    if event == "push":
        return _github_like_push(payload, provider)
    if event == "pull_request":
        return _github_like_pull_request(payload, provider)
    return None
