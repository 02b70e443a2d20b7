"""The JSON a deployment carries (CONTRACT §4): input, declared config, config snapshot,
frozen input, and the artifact that puts them together. Secrets never appear in any of them.

Frozen input (`Deployment.frozen_input`, version 1) — what the runner executes and a
rollback replays; keys are camelCase like the GraphQL fields:

    sourceType, image (IMAGE: the full reference to pull, override applied),
    imageTag, imageDigest*, imageId*, repository, ref, commitSha*, dockerfile, buildContext,
    composeFiles: [{path, content}] (inline content as "compose.yaml"; from a repository
        content is null until CLONE renders it — with variables, never secret values),
    composeProfiles, composeProject ("berth-<project>-<environment>-<service>"),
    ports, volumes, command,
    resources: {memoryMb, cpus, pidsLimit, restartPolicy} (absent in older inputs: no limits,
        unless-stopped; see berth.domain.resources),
    gitAuth: {kind, username} | null (what CLONE authenticates with; the secret is read from
        the service when the deployment runs, never recorded),
    env: [{key, source: "service", secret, value}] (value null for secrets: those are in
        Deployment.frozen_secrets_enc as encrypted {"KEY": "value"} JSON),
    readinessGate: {healthCheck, imageHealthcheck: true},
    route: {host, pathPrefix, containerPort, composeService, drainSeconds} | null (the
        server's proxy switches it to the new version after HEALTH, berth.runner.proxy),
    imageOverride: {tag, variable} | null (COMPOSE: the runner exports the tag to compose as
        `variable`, BERTH_IMAGE_TAG, so files opt in with ${BERTH_IMAGE_TAG:-...}),
    preview: null for the service itself; a pull request's preview deployment carries
        {id, pullRequest, title, headRef, headSha, baseRef, author, fork, fetchRef,
        secretsWithheld, ports} and runs isolated (berth.domain.preview_isolation)

Fields marked * are null until the runner resolves them (RUNTIME_FIELDS).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.models import Model

from berth.domain import preview_isolation
from berth.domain.git_auth import git_auth_view
from berth.domain.grammars import split_image, with_tag
from berth.domain.preview_isolation import PreviewTarget
from berth.domain.resources import stored_resources
from berth.domain.secrets import encrypt_json, redact, redact_env, secret_env_values
from berth.models import Deployment, DeploymentStep, Environment, Observation, Project, Server, Service
from berth.models.enums import SourceType

FROZEN_VERSION = 1
RUNTIME_FIELDS = ("imageDigest", "imageId", "commitSha")
INLINE_COMPOSE_PATH = "compose.yaml"
IMAGE_TAG_VARIABLE = "BERTH_IMAGE_TAG"

IdEncoder = Callable[[str, int], Any]


@dataclass(frozen=True)
class Target:
    """The service and where it deploys, loaded once per request."""

    service: Service
    server: Server
    environment: Environment
    project: Project


@dataclass(frozen=True)
class Overrides:
    image_tag: str | None = None
    ref: str | None = None
    # A pushed commit a git hook deploys: the runner checks out exactly this, never the
    # ref's tip at clone time.
    commit_sha: str | None = None
    # A pull request's preview this deployment runs in (isolated from the service).
    preview: PreviewTarget | None = None

    @property
    def withholds_secrets(self) -> bool:
        """A fork's preview never receives secret env values."""
        return self.preview is not None and self.preview.fork


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _related(instance: Model, name: str) -> Any:
    """A fetched relation, or None when it was not prefetched (never a lazy query)."""
    # Tortoise keeps a fetched foreign-key object in `_<name>`; `<name>` itself would query.
    value = getattr(instance, f"_{name}", None)
    return value if isinstance(value, Model) else None


def _ref(model: Any, fallback_id: int) -> dict[str, Any]:
    return {"id": fallback_id, "name": model.name if model is not None else None}


def declared_config_view(
    service: Service,
    *,
    server: Server | None = None,
    environment: Environment | None = None,
    project: Project | None = None,
) -> dict[str, Any]:
    """What the service declares now: source, env (secrets redacted), health check, target.

    Names of the target come from the objects passed in, or from prefetched relations;
    without either only the ids are given (this function never queries).
    """
    server = server or _related(service, "server")
    environment = environment or _related(service, "environment")
    project = project or _related(service, "project")
    return {
        "sourceType": str(service.source_type),
        "source": dict(service.source),
        "env": redact_env(service.env),
        "healthCheck": service.health_check,
        "autoRollback": service.auto_rollback,
        "resources": stored_resources(service.resources),
        "gitAuth": git_auth_view(service.git_auth),
        "route": service.route,
        "target": {
            "service": {"id": service.id, "name": service.name},
            "server": _ref(server, service.server_id),  # type: ignore[attr-defined]
            "environment": _ref(environment, service.environment_id),  # type: ignore[attr-defined]
            "project": _ref(project, service.project_id),  # type: ignore[attr-defined]
        },
    }


def compose_project_name(target: Target, preview: PreviewTarget | None = None) -> str:
    name = f"berth-{target.project.name}-{target.environment.name}-{target.service.name}"
    return name + preview_isolation.compose_project_suffix(preview.pull_request) if preview else name


def resolved_ref(service: Service, overrides: Overrides) -> str | None:
    if not service.source.get("repository"):
        return None
    return overrides.ref or service.source.get("branch")


def _image_parts(service: Service, overrides: Overrides) -> tuple[str | None, str | None, str | None]:
    """(full reference to pull, tag, repo@digest) for IMAGE sources."""
    declared = service.source.get("image")
    if service.source_type != SourceType.IMAGE or not declared:
        return None, overrides.image_tag, None
    if overrides.image_tag:
        return with_tag(declared, overrides.image_tag), overrides.image_tag, None
    repository, tag, digest = split_image(declared)
    return declared, tag, f"{repository}@{digest}" if digest else None


def deployment_input(service: Service, overrides: Overrides) -> dict[str, Any]:
    """`Deployment.input` (the DeploymentInput type); resolved fields stay null for the runner."""
    source = service.source
    reference, tag, digest = _image_parts(service, overrides)
    return {
        "sourceType": str(service.source_type),
        "image": split_image(reference)[0] if reference else None,
        "imageTag": tag,
        "imageDigest": digest,
        "imageId": None,
        "repository": source.get("repository"),
        "ref": resolved_ref(service, overrides),
        "commitSha": overrides.commit_sha,
        "composeFiles": source.get("composeFiles"),
        "composeProfiles": source.get("composeProfiles"),
        "dockerfile": source.get("dockerfile"),
    }


def _compose_files(source: dict[str, Any]) -> list[dict[str, Any]] | None:
    if source.get("composeContent"):
        return [{"path": INLINE_COMPOSE_PATH, "content": source["composeContent"]}]
    if source.get("composeFiles"):
        return [{"path": path, "content": None} for path in source["composeFiles"]]
    return None


def frozen_input(target: Target, overrides: Overrides) -> dict[str, Any]:
    service = target.service
    source = service.source
    reference, tag, digest = _image_parts(service, overrides)
    is_compose = service.source_type == SourceType.COMPOSE
    override: dict[str, Any] | None = None
    if overrides.image_tag:
        override = {"tag": overrides.image_tag, "variable": IMAGE_TAG_VARIABLE if is_compose else None}
    preview = overrides.preview
    ports, volumes, route = source.get("ports"), source.get("volumes"), service.route
    if preview is not None:
        route = preview_isolation.isolated_route(route, preview.pull_request)
        ports = preview_isolation.isolated_ports(ports)
        volumes = preview_isolation.isolated_volumes(volumes, preview.preview_id)
    return {
        "version": FROZEN_VERSION,
        "sourceType": str(service.source_type),
        "image": reference,
        "imageTag": tag,
        "imageDigest": digest,
        "imageId": None,
        "repository": source.get("repository"),
        "ref": resolved_ref(service, overrides),
        "commitSha": overrides.commit_sha,
        "dockerfile": source.get("dockerfile"),
        "buildContext": source.get("buildContext"),
        "composeFiles": _compose_files(source) if is_compose else None,
        "composeProfiles": source.get("composeProfiles"),
        "composeProject": compose_project_name(target, preview) if is_compose else None,
        "ports": ports,
        "volumes": volumes,
        "command": source.get("command"),
        "resources": stored_resources(service.resources),
        "gitAuth": git_auth_view(service.git_auth),
        "env": [
            {
                "key": item["key"],
                "source": "service",
                "secret": bool(item.get("secret")),
                "value": None if item.get("secret") else item.get("value"),
            }
            for item in service.env
        ],
        "readinessGate": {"healthCheck": service.health_check, "imageHealthcheck": True},
        "route": route,
        "imageOverride": override,
        "preview": preview.metadata(overrides.withholds_secrets) if preview else None,
    }


def frozen_secrets(service: Service) -> str | None:
    """The secret env values a replay needs, encrypted together; None when there are none."""
    values = secret_env_values(service.env)
    return encrypt_json(values) if values else None


def server_view(server: Server) -> dict[str, Any]:
    return {
        "id": server.id,
        "name": server.name,
        "dockerHost": server.docker_host,
        "maxConcurrentDeployments": server.max_concurrent_deployments,
        "maxQueuedDeployments": server.max_queued_deployments,
        "allowPrivileged": server.allow_privileged,
    }


def config_snapshot(target: Target, overrides: Overrides) -> dict[str, Any]:
    """The resolved configuration at deploy time (overrides applied, secrets redacted)."""
    service = target.service
    source = dict(service.source)
    reference, _, _ = _image_parts(service, overrides)
    if reference:
        source["image"] = reference
    if source.get("repository"):
        source["ref"] = resolved_ref(service, overrides)
    return {
        "sourceType": str(service.source_type),
        "source": source,
        "env": redact_env(service.env),
        "healthCheck": service.health_check,
        "autoRollback": service.auto_rollback,
        "resources": stored_resources(service.resources),
        "gitAuth": git_auth_view(service.git_auth),
        "overrides": {"imageTag": overrides.image_tag, "ref": overrides.ref},
        "service": {"id": service.id, "name": service.name},
        "project": {"id": target.project.id, "name": target.project.name},
        "environment": {"id": target.environment.id, "name": target.environment.name},
        "server": server_view(target.server),
    }


def start_record(target: Target, overrides: Overrides) -> dict[str, Any]:
    """The record fields of a new deployment built from the service as it is now."""
    return {
        "input": deployment_input(target.service, overrides),
        "declared_config": declared_config_view(
            target.service, server=target.server, environment=target.environment, project=target.project
        ),
        "config_snapshot": config_snapshot(target, overrides),
        "frozen_input": frozen_input(target, overrides),
        "frozen_secrets_enc": None if overrides.withholds_secrets else frozen_secrets(target.service),
    }


def artifact_identity(frozen: dict[str, Any]) -> str:
    """What makes two frozen inputs "the same artifact" for choosing a rollback target:
    the resolved image digest / commit / image id / compose content when known, else the
    whole frozen input minus the fields only the runner fills in."""
    contents = [f.get("content") for f in frozen.get("composeFiles") or [] if isinstance(f, dict)]
    resolved = [frozen.get("imageDigest"), frozen.get("commitSha"), frozen.get("imageId")]
    if any(resolved) or any(contents):
        basis: Any = {"resolved": resolved, "compose": contents}
    else:
        basis = {key: value for key, value in frozen.items() if key not in RUNTIME_FIELDS}
    return hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()


def step_view(step: DeploymentStep) -> dict[str, Any]:
    return {
        "kind": str(step.kind),
        "status": str(step.status),
        "startedAt": _iso(step.started_at),
        "completedAt": _iso(step.completed_at),
        "detail": step.detail,
    }


def _encode(encode_id: IdEncoder | None, type_name: str, value: int | None) -> Any:
    if value is None:
        return None
    return encode_id(type_name, value) if encode_id else value


def _observed_container(container: Any, encode_id: IdEncoder | None) -> Any:
    """A stored container; its owning deployment (a label value) as the other ids are shown."""
    if not isinstance(container, dict):
        return container
    owner = container.get("deploymentId")
    text = str(owner) if isinstance(owner, str | int) and not isinstance(owner, bool) else ""
    if encode_id is not None and text.isascii() and text.isdigit():
        return {**container, "deploymentId": encode_id("Deployment", int(text))}
    return container


def observed_state_view(observation: Observation | None, encode_id: IdEncoder | None = None) -> Any:
    if observation is None:
        return None
    return {
        "observedAt": _iso(observation.observed_at),
        "drift": str(observation.drift),
        "containers": [_observed_container(c, encode_id) for c in observation.containers],
        "differences": observation.differences,
        "comparedWith": _encode(encode_id, "Deployment", observation.compared_with_id),  # type: ignore[attr-defined]
    }


def artifact(
    deployment: Deployment,
    steps: Sequence[DeploymentStep],
    observation: Observation | None,
    *,
    encode_id: IdEncoder | None = None,
    queue_position: int | None = None,
) -> dict[str, Any]:
    """The whole record as one JSON document (the `artifact` field and the download).

    Ids are the database ids unless `encode_id(type_name, id)` is given (e.g. the GraphQL
    global id encoder). Names of the target are those recorded at creation. The queue
    position is not part of the stored record; pass it (`queries.queue_position`) to include it.
    """
    target = (deployment.declared_config or {}).get("target", {})

    def named(type_name: str, key: str, value: int) -> dict[str, Any]:
        return {"id": _encode(encode_id, type_name, value), "name": (target.get(key) or {}).get("name")}

    document = {
        "id": _encode(encode_id, "Deployment", deployment.id),
        "number": deployment.number,
        "service": named("Service", "service", deployment.service_id),  # type: ignore[attr-defined]
        "project": named("Project", "project", deployment.project_id),  # type: ignore[attr-defined]
        "environment": named("Environment", "environment", deployment.environment_id),  # type: ignore[attr-defined]
        "server": named("Server", "server", deployment.server_id),  # type: ignore[attr-defined]
        "status": str(deployment.status),
        "conclusion": str(deployment.conclusion) if deployment.conclusion else None,
        "trigger": str(deployment.trigger),
        "actor": deployment.actor,
        "reason": deployment.reason,
        "input": deployment.input,
        "configSnapshot": deployment.config_snapshot,
        "steps": [step_view(step) for step in sorted(steps, key=lambda s: s.position)],
        "error": deployment.error,
        "createdAt": _iso(deployment.created_at),
        "startedAt": _iso(deployment.started_at),
        "concludedAt": _iso(deployment.concluded_at),
        "cancelRequestedAt": _iso(deployment.cancel_requested_at),
        "cancelReason": deployment.cancel_reason,
        "rollbackOf": _encode(encode_id, "Deployment", deployment.rollback_of_id),  # type: ignore[attr-defined]
        "queuePosition": queue_position,
        "declaredConfig": deployment.declared_config,
        "frozenInput": deployment.frozen_input,
        "lastObservedState": observed_state_view(observation, encode_id),
    }
    return redact(document)  # type: ignore[no-any-return]


__all__ = [
    "Overrides",
    "Target",
    "artifact",
    "artifact_identity",
    "config_snapshot",
    "declared_config_view",
    "deployment_input",
    "frozen_input",
    "redact_env",
    "start_record",
]
