"""Webhook requests in each provider's documented shape, signed as the provider signs them.

GitHub: https://docs.github.com/en/webhooks/webhook-events-and-payloads#push
GitLab: https://docs.gitlab.com/user/project/integrations/webhook_events/#push-events
Gitea:  https://docs.gitea.com/usage/webhooks (push: GitHub's shape, pusher.login/full_name)
Pull requests: https://docs.github.com/en/webhooks/webhook-events-and-payloads#pull_request,
https://docs.gitlab.com/user/project/integrations/webhook_events/#merge-request-events
(Gitea's pull_request is GitHub's shape).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

ZERO = "0" * 40


def push_payload(provider: str, repository: str, ref: str, after: str, before: str = ZERO,
                 pusher: str = "alice", email: str = "alice@example.test") -> dict[str, Any]:
    deleted = after == ZERO
    if provider == "gitlab":
        return {
            "object_kind": "push", "event_name": "push", "before": before, "after": after, "ref": ref,
            "checkout_sha": None if deleted else after, "user_name": "Alice", "user_username": pusher,
            "user_email": email, "project": {"path_with_namespace": repository, "name": repository.split("/")[-1]},
            "commits": [], "total_commits_count": 0,
        }
    body: dict[str, Any] = {
        "ref": ref, "before": before, "after": after, "created": before == ZERO, "deleted": deleted,
        "repository": {"full_name": repository, "name": repository.split("/")[-1]},
        "head_commit": None if deleted else {"id": after, "message": "change"},
        "commits": [],
    }
    if provider == "gitea":
        body["pusher"] = {"login": pusher, "full_name": "Alice", "email": email}
    else:
        body["pusher"] = {"name": pusher, "email": email}
    return body


# GitHub/Gitea `action` → GitLab `object_attributes.action` (a push to the branch of an
# open merge request is an `update` carrying `oldrev`).
_GITLAB_ACTION = {"opened": "open", "synchronize": "update", "reopened": "reopen", "closed": "close"}


def pull_request_payload(provider: str, repository: str, number: int = 7, *, action: str = "opened",
                         head_sha: str = "a" * 40, head_ref: str = "f", base_ref: str = "main",
                         title: str = "t", author: str = "bob", fork_of: str | None = None,
                         merged: bool = False, before: str | None = None) -> dict[str, Any]:
    """A pull request (GitLab: merge request) event; `fork_of`: the head lives in that
    other repository; `before`: the previous head (GitLab's `oldrev` on an update)."""
    head_repository = fork_of or repository
    if provider == "gitlab":
        gitlab_action = "merge" if action == "closed" and merged else _GITLAB_ACTION.get(action, action)
        attributes: dict[str, Any] = {
            "iid": number, "action": gitlab_action, "title": title, "source_branch": head_ref,
            "target_branch": base_ref, "last_commit": {"id": head_sha},
            "source_project_id": 2 if fork_of else 1, "target_project_id": 1,
            "state": "merged" if merged else ("closed" if action == "closed" else "opened"),
        }
        if before is not None:
            attributes["oldrev"] = before
        return {"object_kind": "merge_request", "event_type": "merge_request",
                "project": {"path_with_namespace": repository}, "user": {"username": author},
                "object_attributes": attributes}
    return {"action": action, "number": number, "repository": {"full_name": repository},
            "pull_request": {"number": number, "title": title, "user": {"login": author}, "merged": merged,
                             "state": "closed" if action == "closed" else "open",
                             "head": {"ref": head_ref, "sha": head_sha, "repo": {"full_name": head_repository}},
                             "base": {"ref": base_ref, "repo": {"full_name": repository}}}}


EVENT_HEADER = {"github": "X-GitHub-Event", "gitlab": "X-Gitlab-Event", "gitea": "X-Gitea-Event"}
DELIVERY_HEADER = {"github": "X-GitHub-Delivery", "gitlab": "X-Gitlab-Event-UUID", "gitea": "X-Gitea-Delivery"}
PUSH_EVENT = {"github": "push", "gitlab": "Push Hook", "gitea": "push"}
PR_EVENT = {"github": "pull_request", "gitlab": "Merge Request Hook", "gitea": "pull_request"}


def signed_headers(provider: str, secret: str, body: bytes, event: str, delivery: str | None = None,
                   content_type: str = "application/json") -> dict[str, str]:
    headers = {
        "Content-Type": content_type,
        EVENT_HEADER[provider]: event,
        DELIVERY_HEADER[provider]: delivery or str(uuid.uuid4()),
    }
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if provider == "github":
        headers["X-Hub-Signature-256"] = "sha256=" + digest
    elif provider == "gitea":
        headers["X-Gitea-Signature"] = digest
    else:
        headers["X-Gitlab-Token"] = secret
    return headers


def encode(payload: Any) -> bytes:
    return json.dumps(payload).encode()
