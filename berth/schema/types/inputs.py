"""Mutation inputs and payloads of the contract."""

from __future__ import annotations

import strawberry

from berth.schema.types.common import Role, SourceType, UserError
from berth.schema.types.deployment import Deployment
from berth.schema.types.identity import ApiToken
from berth.schema.types.inventory import Project, Server, Service


@strawberry.input(name="StartDeploymentInput")
class StartDeploymentInput:
    service_id: strawberry.ID
    image_tag: str | None = strawberry.field(
        default=None,
        description="Override the declared image tag (IMAGE) or the image of a compose service (COMPOSE).",
    )
    ref: str | None = strawberry.field(
        default=None,
        description="Git branch, tag or commit to deploy (DOCKERFILE, COMPOSE from a repository).",
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Same key + same input within 24h returns the original deployment; "
        "different input is IDEMPOTENCY_KEY_REUSED.",
    )
    reason: str | None = None


@strawberry.type(name="StartDeploymentPayload")
class StartDeploymentPayload:
    deployment: Deployment | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(name="CancelDeploymentInput")
class CancelDeploymentInput:
    deployment_id: strawberry.ID
    reason: str | None = None


@strawberry.type(name="CancelDeploymentPayload")
class CancelDeploymentPayload:
    deployment: Deployment | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(name="RollbackDeploymentInput")
class RollbackDeploymentInput:
    service_id: strawberry.ID
    to_deployment_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Successful deployment of the same service to return to; "
        "default: the last successful one before the current.",
    )
    idempotency_key: str | None = None
    reason: str | None = None


@strawberry.type(name="RollbackDeploymentPayload")
class RollbackDeploymentPayload:
    deployment: Deployment | None = strawberry.field(
        default=None, description="The new deployment that replays the target's frozen input."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(name="CreateServerInput")
class CreateServerInput:
    name: str
    docker_host: str
    tls_ca_cert: str | None = strawberry.field(
        default=None, description="PEM; for tcp:// endpoints with TLS. Stored encrypted, never returned."
    )
    tls_client_cert: str | None = None
    tls_client_key: str | None = None
    ssh_private_key: str | None = strawberry.field(
        default=None,
        description="OpenSSH private key for ssh:// endpoints. Stored encrypted, never returned.",
    )
    ssh_known_hosts: str | None = strawberry.field(
        default=None,
        description="known_hosts line(s) pinning the ssh:// endpoint's host key; required for ssh://, "
        "a mismatch is refused.",
    )
    max_concurrent_deployments: int | None = None
    max_queued_deployments: int | None = None
    allow_privileged: bool | None = None
    proxy_listen: str | None = strawberry.field(
        default=None,
        description='Where the proxy listens on that server, e.g. "0.0.0.0:80" or "127.0.0.1:18080"; '
        "default 0.0.0.0:80.",
    )


@strawberry.input(name="CreateProjectInput")
class CreateProjectInput:
    name: str
    environments: list[str] | None = None


@strawberry.input(name="HealthCheckInput")
class HealthCheckInput:
    kind: str
    port: int | None = None
    path: str | None = None
    expected_status: list[int] | None = None
    timeout_seconds: int | None = None
    interval_seconds: int | None = None


@strawberry.input(
    name="GitAuthInput",
    description="How the runner authenticates to a DOCKERFILE or COMPOSE repository. Secrets are stored "
    "encrypted and never returned.",
)
class GitAuthInput:
    username: str | None = strawberry.field(
        default=None,
        description="https: a token or password, sent as HTTP basic auth with `username` (default x-access-token).",
    )
    token: str | None = None
    ssh_private_key: str | None = strawberry.field(
        default=None, description="ssh: a deploy key, and the known_hosts line(s) that pin the git host's key."
    )
    ssh_known_hosts: str | None = None


@strawberry.input(name="RouteInput")
class RouteInput:
    host: str
    path_prefix: str | None = None
    container_port: int
    compose_service: str | None = None
    drain_seconds: int | None = None


@strawberry.input(name="ServiceSourceInput")
class ServiceSourceInput:
    type: SourceType
    image: str | None = strawberry.field(
        default=None,
        description="IMAGE: image reference [registry[:port]/]name[:tag][@sha256:digest], e.g. nginx:alpine.",
    )
    repository: str | None = strawberry.field(
        default=None,
        description=("DOCKERFILE and COMPOSE: git URL (https, ssh or file). No credentials: a user or "
                     "token in an https URL, or a password anywhere, is refused."),
    )
    branch: str | None = None
    dockerfile: str | None = None
    build_context: str | None = None
    compose_files: list[str] | None = strawberry.field(
        default=None,
        description="COMPOSE: files inside the repository, or omit repository and give composeContent.",
    )
    compose_content: str | None = None
    compose_profiles: list[str] | None = None
    ports: list[str] | None = strawberry.field(
        default=None,
        description=('Container port(s) to publish, [ip:][hostPort[-end]:]containerPort[-end][/tcp|udp|sctp], '
                     'e.g. ["127.0.0.1:8080:80", "[::1]::80"] (IMAGE, DOCKERFILE).'),
    )
    volumes: list[str] | None = strawberry.field(
        default=None,
        description=('Named volumes, e.g. ["data:/var/lib/data:ro"]; host binds ("/srv:/data") only on '
                     'servers with allowPrivileged.'),
    )
    command: list[str] | None = None
    git_auth: GitAuthInput | None = None


@strawberry.input(name="EnvVarInput")
class EnvVarInput:
    key: str
    value: str
    secret: bool | None = None


@strawberry.input(name="ResourcesInput")
class ResourcesInput:
    memory_mb: int | None = strawberry.field(default=None, description="Memory limit in MiB (at least 6).")
    cpus: float | None = strawberry.field(default=None, description="CPUs the containers may use, e.g. 0.5.")
    pids_limit: int | None = None
    restart_policy: str | None = strawberry.field(
        default=None, description="no, always, unless-stopped or on-failure[:N]; default unless-stopped."
    )


@strawberry.input(name="CreateServiceInput")
class CreateServiceInput:
    project_id: strawberry.ID
    environment: str = strawberry.field(description=(
        "The project's environment, e.g. production; an environment the project does not have yet is "
        "created with the service (as GitHub and GitLab create one on first deployment), up to 100 "
        "per project."
    ))
    name: str
    server_id: strawberry.ID
    source: ServiceSourceInput
    env: list[EnvVarInput] | None = None
    health_check: HealthCheckInput | None = None
    auto_rollback: bool | None = None
    resources: ResourcesInput | None = None
    route: RouteInput | None = None


@strawberry.input(name="UpdateServiceInput")
class UpdateServiceInput:
    service_id: strawberry.ID
    source: ServiceSourceInput | None = None
    env: list[EnvVarInput] | None = None
    health_check: HealthCheckInput | None = None
    auto_rollback: bool | None = None
    resources: ResourcesInput | None = None
    route: RouteInput | None = None


@strawberry.input(name="DeleteServiceInput")
class DeleteServiceInput:
    service_id: strawberry.ID


@strawberry.type(name="ServerPayload")
class ServerPayload:
    server: Server | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(name="ProjectPayload")
class ProjectPayload:
    project: Project | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(name="ServicePayload")
class ServicePayload:
    service: Service | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(name="CreateApiTokenInput")
class CreateApiTokenInput:
    name: str
    role: Role
    scopes: list[str] | None = strawberry.field(
        default=None,
        description="Subset of the role's scopes (and of the creator's own); "
        "default: all of the role's scopes the creator holds.",
    )
    project_ids: list[strawberry.ID] | None = None
    expires_in_days: int | None = None


@strawberry.type(name="CreateApiTokenPayload")
class CreateApiTokenPayload:
    api_token: ApiToken | None = None
    token: str | None = strawberry.field(default=None, description="The secret, shown only in this response.")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(name="RevokeApiTokenPayload")
class RevokeApiTokenPayload:
    api_token: ApiToken | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
