"""Rolling back (CONTRACT §3): a new deployment that replays an earlier successful one's
frozen input exactly — digest, commit, rendered compose files, ports, volumes, command and
env, secret values included (copied encrypted) — not what a branch or tag points at now.
"""

from __future__ import annotations

from typing import Any

from berth.auth.principal import Principal
from berth.domain import idempotency
from berth.domain.deployments import QueueRequest, check_privilege, check_reason_and_key, enqueue
from berth.domain.errors import ErrorList, UserErrorCode, UserFacingError, not_found
from berth.domain.queries import get_visible
from berth.domain.service_deletion import refuse_if_deleted, service_label
from berth.domain.specs import RollbackSpec
from berth.domain.views import Target, artifact_identity, declared_config_view, server_view
from berth.models import Deployment, Service
from berth.models.enums import DeploymentConclusion

ROLLBACK_MUTATION = "rollbackDeployment"
TARGET_FIELD = ["input", "toDeploymentId"]


def _succeeded(service_id: int) -> Any:
    # The service's own lane: a preview's deployments are never what production returns to.
    return Deployment.filter(
        service_id=service_id, conclusion=DeploymentConclusion.SUCCEEDED, preview_id=None
    ).order_by("-created_at", "-id")


async def default_target(service_id: int) -> Deployment | None:
    """The newest SUCCEEDED deployment before the current one (the newest SUCCEEDED) whose
    artifact differs from the current one's; None when there is none."""
    succeeded: list[Deployment] = list(await _succeeded(service_id))
    if not succeeded:
        return None
    current, earlier = succeeded[0], succeeded[1:]
    current_identity = artifact_identity(current.frozen_input)
    for candidate in earlier:
        if artifact_identity(candidate.frozen_input) != current_identity:
            return candidate
    return None


async def _explicit_target(principal: Principal, service: Service, deployment_id: int) -> Deployment:
    target = await get_visible(principal, Deployment, deployment_id)
    if target is None:
        raise not_found("deployment", TARGET_FIELD)
    if target.service_id != service.id:  # type: ignore[attr-defined]
        raise UserFacingError(
            UserErrorCode.INVALID_INPUT, "toDeploymentId must be a deployment of this service", TARGET_FIELD
        )
    if target.preview_id is not None:  # type: ignore[attr-defined]
        raise UserFacingError(
            UserErrorCode.INVALID_INPUT, "toDeploymentId is a preview's deployment, not the service's", TARGET_FIELD
        )
    if target.conclusion != DeploymentConclusion.SUCCEEDED:
        raise UserFacingError(
            UserErrorCode.INVALID_INPUT, "toDeploymentId must be a SUCCEEDED deployment", TARGET_FIELD
        )
    return target


def _record(replayed: Deployment, target: Target, reason: str | None) -> dict[str, Any]:
    frozen = dict(replayed.frozen_input)
    check_privilege(target, frozen)
    service = target.service
    snapshot = dict(replayed.config_snapshot)
    # What runs is the replayed deployment's; where and how it is watched is the service's now.
    snapshot.update(
        {
            "autoRollback": service.auto_rollback,
            "service": {"id": service.id, "name": service.name},
            "project": {"id": target.project.id, "name": target.project.name},
            "environment": {"id": target.environment.id, "name": target.environment.name},
            "server": server_view(target.server),
            "rollbackOf": {"id": replayed.id, "number": replayed.number},
        }
    )
    return {
        "input": dict(replayed.input),
        "declared_config": declared_config_view(
            service, server=target.server, environment=target.environment, project=target.project
        ),
        "config_snapshot": snapshot,
        "frozen_input": frozen,
        "frozen_secrets_enc": replayed.frozen_secrets_enc,
        "rollback_of_id": replayed.id,
        "reason": reason,
    }


async def rollback_deployment(principal: Principal, spec: RollbackSpec) -> Deployment:
    service = await get_visible(principal, Service, spec.service_id)
    if service is None:
        raise not_found("service", ["input", "serviceId"])
    refuse_if_deleted(service, await service_label(service))
    errors = ErrorList()
    check_reason_and_key(errors, spec.reason, spec.idempotency_key)
    errors.raise_if_any()
    request = {"serviceId": spec.service_id, "toDeploymentId": spec.to_deployment_id, "reason": spec.reason}
    if spec.idempotency_key is not None:
        # A retry must get the original answer even though the default target has moved
        # on since (the deployment it created may have become the current one).
        original = await idempotency.lookup(
            principal, ROLLBACK_MUTATION, spec.idempotency_key, idempotency.request_hash(request)
        )
        if original is not None:
            return original
    if spec.to_deployment_id is not None:
        replayed = await _explicit_target(principal, service, spec.to_deployment_id)
    else:
        found = await default_target(service.id)
        if found is None:
            raise UserFacingError(
                UserErrorCode.NO_ROLLBACK_TARGET,
                "no earlier successful deployment with a different artifact to roll back to",
                ["input", "serviceId"],
            )
        replayed = found

    def build(target: Target) -> dict[str, Any]:
        return _record(replayed, target, spec.reason)

    queued = QueueRequest(service.id, ROLLBACK_MUTATION, request, spec.idempotency_key, build)
    return await enqueue(principal, queued, service.server_id)  # type: ignore[attr-defined]
