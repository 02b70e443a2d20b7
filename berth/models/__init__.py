"""Tortoise models: the whole data model of the contract."""

from berth.models.api_token import ApiToken
from berth.models.approvals import ApprovalDecision
from berth.models.audit import AuditEvent
from berth.models.deployment import (
    Deployment,
    DeploymentEvent,
    DeploymentStep,
    IdempotencyKey,
    LogLine,
    Observation,
)
from berth.models.git import CommitStatus, GitHook, PreviewEnvironment, WebhookDelivery
from berth.models.installation import Installation
from berth.models.inventory import Environment, Project, RegistryCredential, Server, Service
from berth.models.notifications import NotificationChannel, NotificationDelivery

__all__ = [
    "ApiToken",
    "AuditEvent",
    "ApprovalDecision",
    "CommitStatus",
    "Deployment",
    "DeploymentEvent",
    "DeploymentStep",
    "Environment",
    "GitHook",
    "IdempotencyKey",
    "Installation",
    "LogLine",
    "NotificationChannel",
    "NotificationDelivery",
    "Observation",
    "PreviewEnvironment",
    "Project",
    "RegistryCredential",
    "Server",
    "Service",
    "WebhookDelivery",
]
