"""Rows written straight into the test database (Tortoise), so every edge of the schema has data.

Two projects, each with an environment, a service and concluded deployments with log
lines; project A's service also has a rollback deployment and an observation compared with
a deployment. The server under test runs its runner: deployments are stored concluded (or
under a fake runner's lease) in one transaction, so it never has anything to pick up.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise import Tortoise
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from berth.auth.api_tokens import create_api_token
from berth.domain.secrets import encrypt
from berth.models import (
    ApiToken,
    ApprovalDecision,
    AuditEvent,
    Deployment,
    DeploymentEvent,
    DeploymentStep,
    Environment,
    LogLine,
    Observation,
    Project,
    RegistryCredential,
    Server,
    Service,
)
from berth.models.audit import AuditOutcome
from berth.models.enums import (
    ApprovalState,
    DeploymentConclusion,
    DeploymentEventType,
    DeploymentStatus,
    DeploymentTrigger,
    DriftStatus,
    GitProvider,
    LogStream,
    NotificationDeliveryStatus,
    NotificationKind,
    Role,
    SourceType,
    StepStatus,
    WebhookOutcome,
)
from berth.models.git import GitHook, PreviewEnvironment, WebhookDelivery
from berth.models.lifecycle import create_deployment
from berth.models.notifications import NotificationChannel, NotificationDelivery
from berth.schema.ids import to_global_id
from tests.schema.walk import Step
from tests.support.names import unique

# A primary key no row has.
MISSING_PK = 987_654_321
# An address nothing listens on: a runner or observer that tries it fails fast.
UNREACHABLE_DOCKER = "tcp://127.0.0.1:9"


def gid(type_name: str, pk: int) -> str:
    return to_global_id(type_name, pk)


async def make_server(name: str | None = None) -> Server:
    return await Server.create(name=name or unique("srv"), docker_host=UNREACHABLE_DOCKER)


async def make_project_service(server: Server, name: str | None = None) -> tuple[Project, Environment, Service]:
    project = await Project.create(name=name or unique("proj"))
    environment = await Environment.create(project=project, name="production")
    service = await Service.create(
        project=project,
        environment=environment,
        server=server,
        name=unique("svc"),
        source_type=SourceType.IMAGE,
        source={"image": "nginx:alpine"},
    )
    return project, environment, service


async def make_deployment(
    service: Service, *, state: str = "SUCCEEDED", logs: Iterable[str] = (), **fields: Any
) -> Deployment:
    """A deployment stored as the lifecycle would leave it, in one transaction (so a runner
    never sees it QUEUED):

    - SUCCEEDED: concluded, steps SKIPPED, log lines 1..n, events CREATED, STATUS_CHANGED, CONCLUDED;
    - LEASED: PREPARE under a (fake) runner's long lease, so only what a test does (a cancel)
      changes it;
    - AWAITING_APPROVAL: QUEUED in a protected environment (one approval required, none
      given): no runner claims it, only a decision changes it.
    """
    assert state in ("SUCCEEDED", "LEASED", "AWAITING_APPROVAL")
    lines = list(logs)
    async with in_transaction() as conn:
        # One atomic bump (it holds the row until commit): concurrent callers get distinct numbers.
        await Service.filter(id=service.id).using_db(conn).update(
            last_deployment_number=F("last_deployment_number") + 1
        )
        number = (await Service.filter(id=service.id).using_db(conn).get()).last_deployment_number
        values: dict[str, Any] = {
            "service_id": service.id,
            "project_id": service.project_id,
            "environment_id": service.environment_id,
            "server_id": service.server_id,
            "number": number,
            "trigger": DeploymentTrigger.API,
            "actor": {"subject": "token:0", "email": None, "role": "OWNER", "tokenKind": "API_TOKEN"},
            "input": {"sourceType": "IMAGE", "image": "nginx", "imageTag": "alpine"},
            "config_snapshot": {},
            "declared_config": {},
            "frozen_input": {},
        }
        if state == "AWAITING_APPROVAL":
            values.update(approvals_required=1, approval_state=ApprovalState.PENDING)
        values.update(fields)
        deployment = await create_deployment(conn, **values)
        moment = datetime.now(UTC)
        if state == "AWAITING_APPROVAL":
            return deployment

        def event(seq: int, kind: DeploymentEventType, status: DeploymentStatus,
                  conclusion: DeploymentConclusion | None = None) -> DeploymentEvent:
            return DeploymentEvent(deployment_id=deployment.id, seq=seq, type=kind, at=moment, status=status,
                                   conclusion=conclusion, step=None, payload={})

        if state == "LEASED":
            updates: dict[str, Any] = {
                "status": DeploymentStatus.PREPARE, "started_at": moment, "last_event_seq": 2,
                "claimed_by": "test-runner", "lease_expires_at": moment + timedelta(hours=1), "attempt": 1,
            }
            events = [event(2, DeploymentEventType.STATUS_CHANGED, DeploymentStatus.PREPARE)]
        else:
            done, succeeded = DeploymentStatus.COMPLETED, DeploymentConclusion.SUCCEEDED
            await DeploymentStep.filter(deployment_id=deployment.id).using_db(conn).update(
                status=StepStatus.SKIPPED, completed_at=moment
            )
            await LogLine.bulk_create(
                [LogLine(deployment_id=deployment.id, seq=i, timestamp=moment, stream=LogStream.SYSTEM, text=t)
                 for i, t in enumerate(lines, start=1)],
                using_db=conn,
            )
            updates = {
                "status": done, "conclusion": succeeded, "started_at": moment, "concluded_at": moment,
                "last_event_seq": 3, "last_log_seq": len(lines),
            }
            events = [
                event(2, DeploymentEventType.STATUS_CHANGED, done, succeeded),
                event(3, DeploymentEventType.CONCLUDED, done, succeeded),
            ]
        await Deployment.filter(id=deployment.id).using_db(conn).update(**updates)
        await DeploymentEvent.bulk_create(events, using_db=conn)
    return await Deployment.get(id=deployment.id)


@dataclass
class World:
    server: int
    project_a: int
    environment_a: int
    service_a: int
    deployment_a1: int
    # A rollback of a1 (so `rollbackOf` has data), in the preview below; the newest
    # deployment of service A.
    deployment_a2: int
    project_b: int
    environment_b: int
    service_b: int
    deployment_b1: int
    api_token: int
    # A push hook on service A with one stored (ping) delivery that names deployment a2.
    git_hook: int
    webhook_delivery: int
    # A channel of project A with one delivered notification that names deployment a2.
    notification_channel: int
    notification_delivery: int
    # Credentials for a private registry in project A (the password is never readable).
    registry_credential: int
    # An audit entry of project A (a start of deployment a2 by an owner token).
    audit_event: int
    # Environment B is protected (requiredApprovals 1) and b1 was approved by one decision
    # (so `Deployment.approval.decisions` has data).
    approval_decision: int
    # A rollback to a1 waiting for approval in service A's own lane (queued with one approval
    # required, none given; created before a2 so a2 stays the newest): what a plan of
    # service A supersedes, so `DeploymentPlan.wouldSupersede` has data.
    deployment_a3: int
    # An ACTIVE preview of service A; a2 runs in it (so `Deployment.preview` and
    # `PreviewEnvironment.deployments` have data wherever the walk reaches a2).
    preview: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def gid(self, type_name: str, attribute: str) -> str:
        return gid(type_name, getattr(self, attribute))


async def make_git_hook(service: Service) -> GitHook:
    return await GitHook.create(
        service=service, provider=GitProvider.GITHUB, repository=f"acme/{unique('repo')}", branch="main",
        secret_enc=encrypt("seeded-hook-secret"), created_at=datetime.now(UTC),
    )


async def make_ping_delivery(hook: GitHook, deployment: Deployment | None = None) -> WebhookDelivery:
    """A stored, verified ping as the endpoint records it (a seeded one also names a deployment,
    so `WebhookDelivery.deployment` has data)."""
    return await WebhookDelivery.create(
        hook=hook, delivery_id=unique("delivery"), dedupe_key=None, event="ping", received_at=datetime.now(UTC),
        outcome=WebhookOutcome.SKIPPED, reason="ping: the hook is connected", commit_sha=None,
        payload={"zen": "seeded", "repository": {"full_name": hook.repository}}, deployment=deployment,
    )


async def make_preview(service: Service) -> PreviewEnvironment:
    """An ACTIVE preview as a pull request's opening leaves it (a new pull request number each)."""
    moment = datetime.now(UTC)
    return await PreviewEnvironment.create(
        service=service, pull_request=_next_pr(),
        title="Seeded change", head_ref="feature/seeded", head_sha="a" * 40, base_ref="main", author="bob",
        fork=False, created_at=moment, updated_at=moment,
    )


_PULL_REQUESTS = iter(range(1, 10**6))


def _next_pr() -> int:
    return next(_PULL_REQUESTS)
async def make_notification_channel(project: Project) -> NotificationChannel:
    """A WEBHOOK channel to an address nothing listens on (a test notification sent by the
    walk's control fails fast and changes nothing but its own row)."""
    return await NotificationChannel.create(
        project=project, name=unique("channel"), kind=NotificationKind.WEBHOOK,
        url_enc=encrypt("http://127.0.0.1:9/seeded"), secret_enc=encrypt("seeded-channel-secret"),
        events=["deployment.*"], created_at=datetime.now(UTC),
    )


async def make_notification_delivery(channel: NotificationChannel, deployment: Deployment) -> NotificationDelivery:
    moment = datetime.now(UTC)
    return await NotificationDelivery.create(
        channel=channel, deployment=deployment, event="deployment.succeeded", delivery_id=str(uuid.uuid4()),
        payload={"event": "deployment.succeeded", "occurredAt": moment.isoformat(), "deployment": {}},
        status=NotificationDeliveryStatus.DELIVERED, attempts=1, next_attempt_at=moment, response_status=204,
        created_at=moment, delivered_at=moment,
    )


async def seed_world() -> World:
    server = await make_server()
    project_a, environment_a, service_a = await make_project_service(server)
    a1 = await make_deployment(service_a, logs=["a1: pulling", "a1: started"])
    preview = await make_preview(service_a)
    a2 = await make_deployment(service_a, logs=["a2: replaying a1", "a2: started"], rollback_of_id=a1.id,
                               preview_id=preview.id)
    a3 = await make_deployment(service_a, state="AWAITING_APPROVAL", rollback_of_id=a1.id,
                               created_at=a2.created_at - timedelta(seconds=1))
    await Observation.create(
        service=service_a,
        observed_at=datetime.now(UTC),
        drift=DriftStatus.DRIFTED,
        containers=[{"name": "web", "image": "nginx:alpine", "state": "running", "deploymentId": a2.id}],
        differences=[{"field": "image", "expected": "nginx:1", "actual": "nginx:alpine"}],
        compared_with=a1,
    )
    # Service a answers through the server's proxy, which reports a2's container as its upstream.
    service_a.route = {"host": "a.example.test", "pathPrefix": None, "containerPort": 8080,
                       "composeService": None, "drainSeconds": 10}
    await service_a.save(update_fields=["route"])
    server.proxy_status = {"state": "RUNNING", "image": "caddy:2-alpine", "httpAddress": "0.0.0.0:80",
                           "upstreams": [{"host": "a.example.test", "pathPrefix": None,
                                          "upstream": f"berth-a-{a2.id}-1:8080", "deploymentId": a2.id}],
                           "checkedAt": datetime.now(UTC).isoformat()}
    await server.save(update_fields=["proxy_status"])
    project_b, environment_b, service_b = await make_project_service(server)
    b1 = await make_deployment(service_b, logs=["b1: started"])
    await Environment.filter(id=environment_b.id).update(required_approvals=1)
    await Deployment.filter(id=b1.id).update(approvals_required=1, approval_state=ApprovalState.APPROVED)
    decision = await ApprovalDecision.create(
        deployment_id=b1.id, subject="seeded-approver", approved=True, comment="looks right",
        actor={"subject": "seeded-approver", "email": "approver@example.test", "role": "OPERATOR",
               "tokenKind": "JWT", "tokenName": None},
        at=datetime.now(UTC),
    )
    token, _secret = await create_api_token(
        name=unique("listed"), role=Role.VIEWER, scopes=None, project_ids=[], expires_in_days=None,
        created_by="test", creator=None,
    )
    hook = await make_git_hook(service_a)
    delivery = await make_ping_delivery(hook, deployment=a2)
    channel = await make_notification_channel(project_a)
    notification = await make_notification_delivery(channel, a2)
    # An https token for service A's repository (so `Service.gitAuth` has data; never readable).
    await Service.filter(id=service_a.id).update(git_auth={
        "kind": "https", "username": "x-access-token", "tokenEnc": encrypt("seeded-git-token")})
    credential = await RegistryCredential.create(
        project=project_a, registry="registry.example.test:5443", username="walker",
        password_enc=encrypt("seeded-registry-password"), last_used_at=datetime.now(UTC),
    )
    entry = await AuditEvent.create(
        at=datetime.now(UTC), action="deployment.start", outcome=AuditOutcome.OK,
        actor={"subject": "token:0", "email": None, "role": "OWNER", "tokenKind": "API_TOKEN", "tokenName": "t"},
        actor_subject="token:0", target_type="Deployment", target_pk=a2.id, project_id=project_a.id,
        target_label="seeded #2", request_id="seeded", remote_address="127.0.0.1",
        details={"input": {"input": {"serviceId": gid("Service", service_a.id)}}},
    )
    return World(
        audit_event=entry.id,
        registry_credential=credential.id,
        approval_decision=decision.id,
        deployment_a3=a3.id,
        preview=preview.id,
        notification_channel=channel.id,
        notification_delivery=notification.id,
        git_hook=hook.id,
        webhook_delivery=delivery.id,
        server=server.id,
        project_a=project_a.id,
        environment_a=environment_a.id,
        service_a=service_a.id,
        deployment_a1=a1.id,
        deployment_a2=a2.id,
        project_b=project_b.id,
        environment_b=environment_b.id,
        service_b=service_b.id,
        deployment_b1=b1.id,
        api_token=token.id,
    )


async def mint(
    scopes: Iterable[str] | None,
    *,
    role: Role = Role.OWNER,
    project_ids: Iterable[int] = (),
    name: str | None = None,
) -> str:
    """An API token as `berth token create` makes it (no creator: any role, explicit scopes)."""
    _row, secret = await create_api_token(
        name=name or unique("test"),
        role=role,
        scopes=sorted(scopes) if scopes is not None else None,
        project_ids=list(project_ids),
        expires_in_days=None,
        created_by="test",
        creator=None,
    )
    return secret


async def expire_token(secret_prefix: str) -> None:
    """Move a token's expiry into the past (the API refuses to create one that way)."""
    await ApiToken.filter(prefix=secret_prefix).update(expires_at=datetime.now(UTC) - timedelta(minutes=5))


# The audit trail records refusals too: a refused mutation adds its entry and nothing else
# (the audit tests check the entries themselves).
APPEND_ONLY = {"audit_event"}


async def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, except the columns that change without any mutation
    (a token's `lastUsedAt` on use; the observer's view of a server) and the audit trail."""
    volatile = {
        "api_token": {"last_used_at"},
        "server": {"reachable", "last_checked_at", "docker_version", "proxy_status"},
    }
    tables: dict[str, list[dict[str, Any]]] = {}
    for app in Tortoise.apps.values():
        for model in app.values():
            table = model._meta.db_table
            if table in APPEND_ONLY:
                continue
            skip = volatile.get(table, set())
            rows = await model.all().order_by(model._meta.pk_attr).values()
            tables[table] = [{k: v for k, v in row.items() if k not in skip} for row in rows]
    return tables


# ---------------------------------------------------------------- arguments of root fields


def node_ids(world: World) -> dict[str, str]:
    return {
        "ApiToken": gid("ApiToken", world.api_token),
        "AuditEvent": gid("AuditEvent", world.audit_event),
        "Deployment": gid("Deployment", world.deployment_a2),
        "Environment": gid("Environment", world.environment_a),
        "GitHook": gid("GitHook", world.git_hook),
        "RegistryCredential": gid("RegistryCredential", world.registry_credential),
        "WebhookDelivery": gid("WebhookDelivery", world.webhook_delivery),
        "PreviewEnvironment": gid("PreviewEnvironment", world.preview),
        "NotificationChannel": gid("NotificationChannel", world.notification_channel),
        "NotificationDelivery": gid("NotificationDelivery", world.notification_delivery),
        "Project": gid("Project", world.project_a),
        "Server": gid("Server", world.server),
        "Service": gid("Service", world.service_a),
    }


# Inputs each mutation's resolver refuses (unknown ids, invalid names): running one changes
# nothing, with or without the scope, while the payload's edges are still resolved.
def refused_inputs(world: World) -> dict[str, dict[str, Any]]:
    missing_service = gid("Service", MISSING_PK)
    return {
        "startDeployment": {"input": {"serviceId": missing_service}},
        "cancelDeployment": {"input": {"deploymentId": gid("Deployment", MISSING_PK)}},
        "rollbackDeployment": {"input": {"serviceId": missing_service}},
        "createServer": {"input": {"name": "", "dockerHost": "unix:///var/run/docker.sock"}},
        "createProject": {"input": {"name": ""}},
        "createService": {
            "input": {
                "projectId": gid("Project", MISSING_PK),
                "environment": "production",
                "name": "walk",
                "serverId": gid("Server", world.server),
                "source": {"type": "IMAGE", "image": "nginx:alpine"},
            }
        },
        "updateService": {"input": {"serviceId": missing_service}},
        "deleteService": {"input": {"serviceId": missing_service}},
        "createApiToken": {"input": {"name": "", "role": "VIEWER"}},
        "revokeApiToken": {"id": gid("ApiToken", MISSING_PK)},
        "createGitHook": {"input": {"serviceId": missing_service, "provider": "GITHUB", "repository": "acme/walk"}},
        "deleteGitHook": {"id": gid("GitHook", MISSING_PK)},
        "createRegistryCredential": {"input": {"projectId": gid("Project", MISSING_PK),
                                               "registry": "registry.example.test", "username": "walker",
                                               "password": "refused-anyway"}},
        "deleteRegistryCredential": {"id": gid("RegistryCredential", MISSING_PK)},
        "redeliverWebhook": {"id": gid("WebhookDelivery", MISSING_PK)},
        "closePreview": {"id": gid("PreviewEnvironment", MISSING_PK)},
        "updateEnvironment": {"input": {"environmentId": gid("Environment", MISSING_PK), "requiredApprovals": 1}},
        "approveDeployment": {"input": {"deploymentId": gid("Deployment", MISSING_PK)}},
        "rejectDeployment": {"input": {"deploymentId": gid("Deployment", MISSING_PK), "comment": "walk"}},
        "createNotificationChannel": {"input": {"projectId": gid("Project", MISSING_PK), "name": "walk",
                                                "kind": "WEBHOOK", "url": "https://hooks.example.test/walk",
                                                "events": ["deployment.*"]}},
        "deleteNotificationChannel": {"id": gid("NotificationChannel", MISSING_PK)},
        "testNotificationChannel": {"id": gid("NotificationChannel", MISSING_PK)},
    }


def root_arguments(step: Step, world: World) -> dict[str, Any]:
    if step.parent == "Query":
        if step.field == "node":
            assert step.on is not None
            return {"id": node_ids(world)[step.on]}
        return {
            "deployment": {"id": gid("Deployment", world.deployment_a2)},
            "service": {"id": gid("Service", world.service_a)},
            # A query: a real service, so the plan has data (it writes nothing).
            "planDeployment": {"input": {"serviceId": gid("Service", world.service_a)}},
        }.get(step.field, {})
    if step.parent == "Subscription":
        if step.field in ("deploymentEvents", "deploymentLogs", "deploymentLogBatches"):
            return {"deploymentId": gid("Deployment", world.deployment_a2)}
        return {}
    inputs = refused_inputs(world)
    assert step.field in inputs, f"no refused input for mutation {step.field}: add one to refused_inputs"
    return inputs[step.field]
