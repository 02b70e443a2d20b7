"""`planDeployment`: what `startDeployment` would do, computed without writing anything.

The refusals come from the same functions startDeployment runs (`prepare_start`, then the
transaction's `queue_decision` and the record builder), in the same order, so a plan's
problems are exactly the errors a start with that input would return now. Nothing is
locked or stored: an idempotency key is looked up (a reused one is a problem) but never
reserved, and the service's deployment number is not taken.

Changes compare the frozen input the deployment would be queued with against the last
observed live state of the service: the image and digest its containers were last seen
running (IMAGE sources: one container), and otherwise the frozen input of the deployment
that observation was compared with (the last successful one), or of the last SUCCEEDED
deployment when nothing was observed yet. Paths are keys of the frozen input (`image`,
`env.KEY`, `ports`, `composeFiles.services.NAME`, ...). Secret env values never appear: a
secret is shown as `{"secret": true}` on the side(s) it exists, and a change of its value as
that on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from berth.auth.principal import Principal
from berth.domain import idempotency
from berth.domain.compose_yaml import load_compose_yaml
from berth.domain.deployments import prepare_start, queue_decision
from berth.domain.errors import UserFacingError
from berth.domain.queries import get_visible
from berth.domain.secrets import decrypt_json
from berth.domain.specs import StartSpec
from berth.domain.views import Target
from berth.models import Deployment, Environment, Observation, Project, Server, Service
from berth.models.enums import DeploymentConclusion, SourceType
from berth.models.sql import get_connection

# Frozen-input keys compared as whole values (env and compose services are compared by item).
_COMPARED = (
    "sourceType", "image", "imageTag", "imageDigest", "repository", "ref", "commitSha", "dockerfile",
    "buildContext", "composeProfiles", "ports", "volumes", "command", "resources", "route", "gitAuth",
)
# Filled in by the runner: a null on the new side means "resolved when it runs", not "removed".
_RESOLVED_LATER = ("imageDigest", "commitSha")
_SECRET = {"secret": True}


@dataclass(frozen=True)
class PlanChange:
    path: str
    before: Any
    after: Any


@dataclass
class Plan:
    service: Service | None
    changes: list[PlanChange] = field(default_factory=list)
    would_supersede: list[Deployment] = field(default_factory=list)
    queue_ahead: int = 0
    requires_approval: bool = False
    # What startDeployment would refuse (one refusal; InvalidInput carries all its fields).
    problem: UserFacingError | None = None


async def plan_deployment(principal: Principal, spec: StartSpec) -> Plan:
    visible = await get_visible(principal, Service, spec.service_id)
    try:
        service, queued = await prepare_start(principal, spec)
        if queued.idempotency_key is not None:
            # Read only: a live key with another input is refused; a matching one would be
            # answered with its deployment, and planning never reserves a free one.
            await idempotency.lookup(
                principal, queued.mutation, queued.idempotency_key, idempotency.request_hash(queued.request)
            )
        server = await Server.get(id=service.server_id)  # type: ignore[attr-defined]
        environment = await Environment.get(id=service.environment_id)  # type: ignore[attr-defined]
        project = await Project.get(id=service.project_id)  # type: ignore[attr-defined]
        decision = await queue_decision(get_connection(), server, service.id, environment, queued.preview_id)
        target = Target(service=service, server=server, environment=environment, project=project)
        fields = queued.build(target)
    except UserFacingError as error:
        return Plan(service=visible, problem=error)
    superseded = await Deployment.filter(id__in=decision.supersedes).order_by("created_at", "id")
    before, before_secrets = await _live_state(service)
    after_secrets = _secrets(fields.get("frozen_secrets_enc"))
    return Plan(
        service=service,
        changes=changes_between(before, fields["frozen_input"], before_secrets, after_secrets),
        would_supersede=list(superseded),
        queue_ahead=decision.ahead,
        requires_approval=decision.pending,
    )


def _secrets(encrypted: str | None) -> dict[str, str]:
    # Decrypted only to tell changed from unchanged; the values never leave this module.
    return dict(decrypt_json(encrypted)) if encrypted else {}


async def _live_state(service: Service) -> tuple[dict[str, Any], dict[str, str]]:
    """The frozen input (and secret values) that describe what runs now, with the image and
    digest last observed; empty when nothing was deployed."""
    observation = await Observation.filter(service_id=service.id).order_by("-observed_at", "-id").first()
    live: Deployment | None = None
    if observation is not None and observation.compared_with_id is not None:  # type: ignore[attr-defined]
        live = await Deployment.get_or_none(id=observation.compared_with_id)  # type: ignore[attr-defined]
    if live is None:
        live = await Deployment.filter(
            service_id=service.id, preview_id=None, conclusion=DeploymentConclusion.SUCCEEDED
        ).order_by("-created_at", "-id").first()
    state: dict[str, Any] = dict(live.frozen_input) if live is not None else {}
    if observation is not None and service.source_type == SourceType.IMAGE:
        containers = [c for c in observation.containers if isinstance(c, dict)]
        state["image"] = containers[0].get("image") if containers else None
        state["imageDigest"] = containers[0].get("imageDigest") if containers else None
    return state, _secrets(live.frozen_secrets_enc) if live is not None else {}


def _env(items: Any) -> dict[str, dict[str, Any]]:
    return {item["key"]: item for item in items or [] if isinstance(item, dict) and "key" in item}


def _env_side(item: dict[str, Any] | None) -> Any:
    if item is None:
        return None
    return dict(_SECRET) if item.get("secret") else item.get("value")


def _env_changes(before: Any, after: Any, before_secrets: dict[str, str],
                 after_secrets: dict[str, str]) -> list[PlanChange]:
    old, new = _env(before), _env(after)
    changes = []
    for key in sorted(set(old) | set(new)):
        was, now = old.get(key), new.get(key)
        if was is not None and now is not None and was.get("secret") and now.get("secret"):
            # A fork preview withholds secrets: a missing value is not a change of it.
            if key in after_secrets and before_secrets.get(key) != after_secrets[key]:
                changes.append(PlanChange(f"env.{key}", dict(_SECRET), dict(_SECRET)))
            continue
        if _env_side(was) != _env_side(now) or (was is None) != (now is None):
            changes.append(PlanChange(f"env.{key}", _env_side(was), _env_side(now)))
    return changes


def compose_services(files: Any) -> set[str] | None:
    """Service names of the compose files whose content is known (None: none is)."""
    names: set[str] = set()
    known = False
    for item in files or []:
        content = item.get("content") if isinstance(item, dict) else None
        if not content:
            continue
        try:
            document = load_compose_yaml(content)
        except Exception:  # noqa: BLE001 - an unreadable file tells nothing about services
            continue
        if isinstance(document, dict) and isinstance(document.get("services"), dict):
            known = True
            names.update(str(name) for name in document["services"])
    return names if known else None


def changes_between(before: dict[str, Any], after: dict[str, Any], before_secrets: dict[str, str],
                    after_secrets: dict[str, str]) -> list[PlanChange]:
    changes = []
    for key in _COMPARED:
        old, new = before.get(key), after.get(key)
        if new is None and key in _RESOLVED_LATER:
            continue
        if old != new:
            changes.append(PlanChange(key, old, new))
    health_old = (before.get("readinessGate") or {}).get("healthCheck")
    health_new = (after.get("readinessGate") or {}).get("healthCheck")
    if health_old != health_new:
        changes.append(PlanChange("readinessGate.healthCheck", health_old, health_new))
    changes += _env_changes(before.get("env"), after.get("env"), before_secrets, after_secrets)
    old_services = compose_services(before.get("composeFiles"))
    new_services = compose_services(after.get("composeFiles"))
    if new_services is not None:
        for name in sorted((old_services or set()) ^ new_services):
            added = name in new_services
            changes.append(PlanChange(f"composeFiles.services.{name}", None if added else name,
                                      name if added else None))
    return changes
