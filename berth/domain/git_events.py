"""What a provider's webhook says, once verified and parsed: the few facts Berth acts on.

The provider-specific parsing (GitHub, GitLab, Gitea payload shapes) produces these; the
push and preview rules consume them and never look at a raw payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PullRequestAction(StrEnum):
    OPENED = "opened"
    UPDATED = "updated"  # new commits: GitHub/Gitea `synchronize`, GitLab `update` with a new head
    REOPENED = "reopened"
    CLOSED = "closed"  # merged or not
    OTHER = "other"  # labelled, edited, review requested…: nothing to deploy


@dataclass(frozen=True)
class PushEvent:
    repository: str
    """owner/name as the provider spells it."""
    ref: str
    """The full ref pushed: refs/heads/main, refs/tags/v1."""
    commit_sha: str
    """The commit the ref now points at (`after`); all zeros when the ref was deleted."""
    deleted: bool
    pusher_name: str | None
    pusher_email: str | None


@dataclass(frozen=True)
class PullRequestEvent:
    repository: str
    """The base repository, owner/name."""
    action: PullRequestAction
    number: int
    title: str | None
    head_ref: str
    """The branch name in the head repository (the fork's, for a fork)."""
    head_sha: str
    base_ref: str
    author: str | None
    fork: bool
    """The head lives in another repository than the base."""
    merged: bool
    fetch_ref: str
    """A ref of the base repository that holds the head commit, for forks too:
    refs/pull/N/head (GitHub, Gitea), refs/merge-requests/N/head (GitLab)."""


@dataclass(frozen=True)
class PingEvent:
    repository: str | None


GitEvent = PushEvent | PullRequestEvent | PingEvent
