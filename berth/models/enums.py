"""Enumerations shared by the models, the domain, the runner and the schema."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "OWNER"
    ADMIN = "ADMIN"
    OPERATOR = "OPERATOR"
    DEVELOPER = "DEVELOPER"
    VIEWER = "VIEWER"
    AGENT = "AGENT"


class TokenKind(StrEnum):
    JWT = "JWT"
    API_TOKEN = "API_TOKEN"
    # A deployment a git hook started: the actor is `githook:<id>`, the pusher unverified.
    WEBHOOK = "WEBHOOK"


class SourceType(StrEnum):
    COMPOSE = "COMPOSE"
    DOCKERFILE = "DOCKERFILE"
    IMAGE = "IMAGE"


class DeploymentStatus(StrEnum):
    QUEUED = "QUEUED"
    PREPARE = "PREPARE"
    DEPLOY = "DEPLOY"
    FINALIZE = "FINALIZE"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class DeploymentConclusion(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    SKIPPED = "SKIPPED"


class DeploymentTrigger(StrEnum):
    USER = "USER"
    WEBHOOK = "WEBHOOK"
    API = "API"
    AGENT = "AGENT"


class StepKind(StrEnum):
    CLONE = "CLONE"
    BUILD = "BUILD"
    PULL = "PULL"
    VOLUME = "VOLUME"
    START = "START"
    HEALTH = "HEALTH"
    FINALIZE = "FINALIZE"


# The order in which steps run and are listed.
STEP_ORDER: tuple[StepKind, ...] = tuple(StepKind)


class StepStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    CANCELED = "CANCELED"


class LogStream(StrEnum):
    STDOUT = "STDOUT"
    STDERR = "STDERR"
    SYSTEM = "SYSTEM"


class DeploymentEventType(StrEnum):
    CREATED = "CREATED"
    STATUS_CHANGED = "STATUS_CHANGED"
    STEP_CHANGED = "STEP_CHANGED"
    CANCEL_REQUESTED = "CANCEL_REQUESTED"
    CONCLUDED = "CONCLUDED"
    # Someone approved or rejected a deployment waiting in a protected environment.
    APPROVAL_DECIDED = "APPROVAL_DECIDED"


class ApprovalState(StrEnum):
    """Where a deployment stands with its environment's required approvals."""

    NOT_REQUIRED = "NOT_REQUIRED"
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class DriftStatus(StrEnum):
    IN_SYNC = "IN_SYNC"
    DRIFTED = "DRIFTED"
    MISSING = "MISSING"
    UNKNOWN = "UNKNOWN"


class ErrorCode(StrEnum):
    """`DeploymentError.code` values (CONTRACT §3)."""

    CLONE_FAILED = "CLONE_FAILED"
    BUILD_FAILED = "BUILD_FAILED"
    PULL_FAILED = "PULL_FAILED"
    VOLUME_FAILED = "VOLUME_FAILED"
    START_FAILED = "START_FAILED"
    HEALTH_FAILED = "HEALTH_FAILED"
    TIMEOUT = "TIMEOUT"
    RUNNER_LOST = "RUNNER_LOST"
    CANCELED = "CANCELED"
    # A registry refused a pull (IMAGE, a build's FROM, compose) for want of valid credentials.
    REGISTRY_AUTH = "REGISTRY_AUTH"
    # The git host refused the clone's credentials (or had none), or its host key is not the pinned one.
    GIT_AUTH = "GIT_AUTH"


class GitProvider(StrEnum):
    GITHUB = "GITHUB"
    GITLAB = "GITLAB"
    GITEA = "GITEA"


class WebhookOutcome(StrEnum):
    DEPLOYED = "DEPLOYED"
    PREVIEW_DEPLOYED = "PREVIEW_DEPLOYED"
    PREVIEW_CLOSED = "PREVIEW_CLOSED"
    SKIPPED = "SKIPPED"
    DUPLICATE = "DUPLICATE"
    REJECTED = "REJECTED"


class PreviewStatus(StrEnum):
    ACTIVE = "ACTIVE"
    CLOSED = "CLOSED"
    CLEANED = "CLEANED"


class CommitState(StrEnum):
    """What a provider's commit status API is told (GitHub's words; GitLab and Gitea map them)."""

    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"
    ERROR = "error"


class NotificationKind(StrEnum):
    """How a channel's messages are shaped: Berth's signed JSON, or a chat's incoming webhook."""

    WEBHOOK = "WEBHOOK"
    SLACK = "SLACK"
    DISCORD = "DISCORD"


class NotificationDeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    # Abandoned: the receiver kept failing (or refused the request itself).
    FAILED = "FAILED"
