"""Servers, projects, environments and services: what deployments target."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from berth.models.enums import SourceType


class Server(Model):
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=63, unique=True)
    docker_host = fields.CharField(max_length=512)
    # PEM/OpenSSH material, Fernet-encrypted with the data key; never returned.
    tls_ca_cert_enc = fields.TextField(null=True)
    tls_client_cert_enc = fields.TextField(null=True)
    tls_client_key_enc = fields.TextField(null=True)
    ssh_private_key_enc = fields.TextField(null=True)
    # Host keys are public; pinned so ssh:// connects to that key only.
    ssh_known_hosts = fields.TextField(null=True)
    max_concurrent_deployments = fields.IntField(default=1)
    max_queued_deployments = fields.IntField(default=20)
    allow_privileged = fields.BooleanField(default=False)
    reachable = fields.BooleanField(null=True)
    last_checked_at = fields.DatetimeField(null=True)
    docker_version = fields.CharField(max_length=64, null=True)
    # Where the server's proxy listens ("0.0.0.0:80" when None) and what the runner last
    # read from that proxy: {state, image, httpAddress, upstreams: [{host, pathPrefix,
    # upstream, deploymentId}], checkedAt} (berth.runner.proxy).
    proxy_listen = fields.CharField(max_length=64, null=True)
    proxy_status: Any = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "server"


class Project(Model):
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=63, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "project"


class Environment(Model):
    id = fields.BigIntField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "models.Project", related_name="environments", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=63)
    created_at = fields.DatetimeField(auto_now_add=True)
    # Deployments into this environment wait QUEUED until this many principals other than
    # their starter approve (berth.domain.approvals); 0: none needed.
    required_approvals = fields.IntField(default=0)
    project_id: int

    class Meta:
        table = "environment"
        unique_together = (("project", "name"),)


class Service(Model):
    id = fields.BigIntField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "models.Project", related_name="services", on_delete=fields.CASCADE
    )
    environment: fields.ForeignKeyRelation[Environment] = fields.ForeignKeyField(
        "models.Environment", related_name="services", on_delete=fields.CASCADE
    )
    server: fields.ForeignKeyRelation[Server] = fields.ForeignKeyField(
        "models.Server", related_name="services", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=63)
    source_type = fields.CharEnumField(SourceType, max_length=16)
    # Declared source: image, repository, branch, compose files/content, ports, volumes, command.
    source: Any = fields.JSONField(default=dict)
    # [{"key", "secret", "value"} | {"key", "secret": true, "value_enc"}]: secrets encrypted at rest.
    env: Any = fields.JSONField(default=list)
    health_check: Any = fields.JSONField(null=True)
    # {"memoryMb", "cpus", "pidsLimit", "restartPolicy"}; null on rows older than resources
    # (read as no limits, unless-stopped: what those services always ran with).
    resources: Any = fields.JSONField(null=True)
    # How CLONE authenticates: {"kind": "https", "username", "tokenEnc"} or {"kind": "ssh",
    # "sshPrivateKeyEnc", "sshKnownHosts"}; secrets Fernet-encrypted, never in any view.
    git_auth: Any = fields.JSONField(null=True)
    # {"host", "pathPrefix", "containerPort", "composeService", "drainSeconds"}: where the
    # server's proxy sends traffic to this service; None: no route.
    route: Any = fields.JSONField(null=True)
    auto_rollback = fields.BooleanField(default=True)
    # Last per-service deployment number handed out; bumped under the row lock.
    last_deployment_number = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    # Set by deleteService: what it ran is gone, its deployment records stay, read-only.
    deleted_at = fields.DatetimeField(null=True)
    project_id: int
    environment_id: int
    server_id: int

    class Meta:
        table = "service"
        unique_together = (("environment", "name"),)


class RegistryCredential(Model):
    """A project's credentials for one registry, used by every pull and build of its services."""

    id = fields.BigIntField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "models.Project", related_name="registry_credentials", on_delete=fields.CASCADE
    )
    # host[:port] as image references name it (Docker Hub: docker.io).
    registry = fields.CharField(max_length=255)
    username = fields.CharField(max_length=255)
    # Fernet-encrypted with the data key; never returned, logged or put into a record.
    password_enc = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    project_id: int

    class Meta:
        table = "registry_credential"
        unique_together = (("project", "registry"),)
