"""Plain values mirroring the GraphQL inputs (snake_case, same optionality).

The GraphQL layer builds these after decoding global ids to ints; the domain never sees
GraphQL types. Field paths in errors still use the GraphQL names (["input", "serverId"]).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from berth.models.enums import SourceType


@dataclass(frozen=True)
class ServerSpec:
    name: str
    docker_host: str
    tls_ca_cert: str | None = None
    tls_client_cert: str | None = None
    tls_client_key: str | None = None
    ssh_private_key: str | None = None
    ssh_known_hosts: str | None = None
    max_concurrent_deployments: int | None = None
    max_queued_deployments: int | None = None
    allow_privileged: bool | None = None
    proxy_listen: str | None = None


@dataclass(frozen=True)
class ProjectSpec:
    name: str
    environments: Sequence[str] | None = None


@dataclass(frozen=True)
class GitAuthSpec:
    username: str | None = None
    token: str | None = field(default=None, repr=False)
    ssh_private_key: str | None = field(default=None, repr=False)
    ssh_known_hosts: str | None = None


@dataclass(frozen=True)
class SourceSpec:
    type: SourceType | str
    image: str | None = None
    repository: str | None = None
    branch: str | None = None
    dockerfile: str | None = None
    build_context: str | None = None
    compose_files: Sequence[str] | None = None
    compose_content: str | None = None
    compose_profiles: Sequence[str] | None = None
    ports: Sequence[str] | None = None
    volumes: Sequence[str] | None = None
    command: Sequence[str] | None = None
    git_auth: GitAuthSpec | None = None


@dataclass(frozen=True)
class EnvVarSpec:
    key: str
    value: str
    secret: bool | None = None


@dataclass(frozen=True)
class HealthCheckSpec:
    kind: str
    port: int | None = None
    path: str | None = None
    expected_status: Sequence[int] | None = None
    timeout_seconds: int | None = None
    interval_seconds: int | None = None


@dataclass(frozen=True)
class RegistryCredentialSpec:
    project_id: int
    registry: str
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class ResourcesSpec:
    memory_mb: int | None = None
    cpus: float | None = None
    pids_limit: int | None = None
    restart_policy: str | None = None


@dataclass(frozen=True)
class RouteSpec:
    host: str
    container_port: int
    path_prefix: str | None = None
    compose_service: str | None = None
    drain_seconds: int | None = None


@dataclass(frozen=True)
class ServiceSpec:
    project_id: int
    environment: str
    name: str
    server_id: int
    source: SourceSpec
    env: Sequence[EnvVarSpec] | None = None
    health_check: HealthCheckSpec | None = None
    auto_rollback: bool | None = None
    resources: ResourcesSpec | None = None
    route: RouteSpec | None = None


@dataclass(frozen=True)
class ServiceUpdateSpec:
    """None means "leave as it is"; a given `env` (or `resources`) replaces the whole of it."""

    service_id: int
    source: SourceSpec | None = None
    env: Sequence[EnvVarSpec] | None = None
    health_check: HealthCheckSpec | None = None
    auto_rollback: bool | None = None
    resources: ResourcesSpec | None = None
    route: RouteSpec | None = None


@dataclass(frozen=True)
class StartSpec:
    service_id: int
    image_tag: str | None = None
    ref: str | None = None
    idempotency_key: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class RollbackSpec:
    service_id: int
    to_deployment_id: int | None = None
    idempotency_key: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class DeploymentFilterSpec:
    project_id: int | None = None
    service_id: int | None = None
    environment_id: int | None = None
    server_id: int | None = None
    status: Sequence[str] | None = None
    conclusion: Sequence[str] | None = None
    trigger: Sequence[str] | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    # One preview's deployments (PreviewEnvironment.deployments).
    preview_id: int | None = None


@dataclass(frozen=True)
class EnvironmentUpdateSpec:
    """None means "leave as it is"."""

    environment_id: int
    required_approvals: int | None = None
