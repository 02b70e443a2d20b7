"""startDeployment: the record, numbering, superseding, the queue limit and the views."""

from __future__ import annotations

import asyncio
import json

import pytest

from berth.domain.deployments import start_deployment
from berth.domain.errors import InvalidInput, UserFacingError
from berth.domain.inventory import create_service, update_service
from berth.domain.secrets import decrypt_json
from berth.domain.specs import (
    EnvVarSpec,
    HealthCheckSpec,
    ServiceSpec,
    ServiceUpdateSpec,
    SourceSpec,
    StartSpec,
)
from berth.domain.views import artifact, declared_config_view
from berth.models import Deployment, DeploymentEvent, DeploymentStep, Observation, Server, Service
from berth.models.enums import (
    DeploymentConclusion,
    DeploymentEventType,
    DeploymentStatus,
    DeploymentTrigger,
    DriftStatus,
    Role,
    SourceType,
    StepStatus,
    TokenKind,
)
from berth.models.lifecycle import add_commit_listener, remove_commit_listener
from tests.support.names import unique

from . import S, image_service, owner, project, raw_rows, row_counts, run_to, server

SECRET = "hunter2-" + "x" * 12


async def test_start_records_who_what_and_where(db) -> None:
    service = await image_service(
        env=[EnvVarSpec("API_TOKEN", SECRET, secret=True), EnvVarSpec("MODE", "prod")],
    )
    agent = owner(role=Role.AGENT, token_id=7)
    spec = StartSpec(service_id=service.id, image_tag="v2", reason="ship")
    deployment = await start_deployment(agent, spec)
    stored = await Deployment.get(id=deployment.id)
    assert stored.status == DeploymentStatus.QUEUED and stored.number == 1
    assert stored.trigger == DeploymentTrigger.AGENT
    assert stored.actor == {"subject": "token-7", "email": "owner@example.test", "role": "AGENT",
                            "tokenKind": "API_TOKEN", "tokenName": "token 7"}
    assert stored.reason == "ship"
    assert (stored.service_id, stored.project_id, stored.environment_id, stored.server_id) == (  # type: ignore[attr-defined]
        service.id, service.project_id, service.environment_id, service.server_id  # type: ignore[attr-defined]
    )
    assert stored.input == {
        "sourceType": "IMAGE", "image": "registry.example.test:5000/team/app", "imageTag": "v2",
        "imageDigest": None, "imageId": None, "repository": None, "ref": None, "commitSha": None,
        "composeFiles": None, "composeProfiles": None, "dockerfile": None,
    }
    frozen = stored.frozen_input
    assert frozen["image"] == "registry.example.test:5000/team/app:v2"
    assert frozen["imageOverride"] == {"tag": "v2", "variable": None}
    assert frozen["env"] == [
        {"key": "API_TOKEN", "source": "service", "secret": True, "value": None},
        {"key": "MODE", "source": "service", "secret": False, "value": "prod"},
    ]
    assert frozen["preview"] is None and frozen["commitSha"] is None and frozen["imageDigest"] is None
    assert decrypt_json(stored.frozen_secrets_enc or "") == {"API_TOKEN": SECRET}
    declared = stored.declared_config
    assert declared["source"]["image"] == "registry.example.test:5000/team/app:v1"
    assert declared["target"]["environment"]["name"] == "production"
    assert declared["target"]["server"]["id"] == service.server_id  # type: ignore[attr-defined]
    snapshot = stored.config_snapshot
    assert snapshot["source"]["image"] == "registry.example.test:5000/team/app:v2"
    assert snapshot["server"]["maxQueuedDeployments"] == 20
    assert snapshot["env"][0] == {"key": "API_TOKEN", "secret": True, "value": "***"}
    steps = await DeploymentStep.filter(deployment_id=stored.id)
    assert len(steps) == 7 and {s.status for s in steps} == {StepStatus.PENDING}
    events = await DeploymentEvent.filter(deployment_id=stored.id)
    assert [e.type for e in events] == [DeploymentEventType.CREATED]


async def test_trigger_follows_the_credential(db) -> None:
    service = await image_service()
    user = owner(token_kind=TokenKind.JWT)
    api = owner(role=Role.OPERATOR)
    assert (await start_deployment(user, StartSpec(service_id=service.id))).trigger == DeploymentTrigger.USER
    assert (await start_deployment(api, StartSpec(service_id=service.id))).trigger == DeploymentTrigger.API


async def test_secrets_never_leave_encrypted_storage(db) -> None:
    target = await server()
    service = await image_service(target, env=[EnvVarSpec("DB_PASSWORD", SECRET, secret=True)])
    compose = await create_service(owner(), ServiceSpec(
        project_id=service.project_id, environment="production", name=unique("stack"),  # type: ignore[attr-defined]
        server_id=target.id, env=[EnvVarSpec("DB_PASSWORD", SECRET, secret=True)],
        source=SourceSpec(type=SourceType.COMPOSE,
                          compose_content="services:\n  db:\n    image: postgres\n"
                                          "    environment:\n      POSTGRES_PASSWORD: ${DB_PASSWORD}\n"),
    ))
    for svc in (service, compose):
        deployment = await start_deployment(owner(), StartSpec(service_id=svc.id))
        steps = await DeploymentStep.filter(deployment_id=deployment.id)
        observation = await Observation.create(service_id=svc.id, observed_at=deployment.created_at,
                                               drift=DriftStatus.IN_SYNC, compared_with_id=deployment.id)
        document = artifact(deployment, steps, observation)
        loaded = await Service.get(id=svc.id)
        assert declared_config_view(loaded)["target"]["server"] == {"id": target.id, "name": None}
        await loaded.fetch_related("server", "environment", "project")
        assert declared_config_view(loaded)["target"]["server"] == {"id": target.id, "name": target.name}
        views = (document, declared_config_view(loaded), deployment.config_snapshot, deployment.frozen_input)
        for view in views:
            text = json.dumps(view)
            assert SECRET not in text and "value_enc" not in text and "frozen_secrets" not in text
        assert document["configSnapshot"]["env"] == [{"key": "DB_PASSWORD", "secret": True, "value": "***"}]
        assert document["lastObservedState"]["comparedWith"] == deployment.id
        assert [s["kind"] for s in document["steps"]][0] == "CLONE"
    for table in ("service", "deployment", "deployment_event"):
        assert SECRET not in await raw_rows(table)


async def test_artifact_uses_the_given_id_encoder(db) -> None:
    service = await image_service()
    deployment = await start_deployment(owner(), StartSpec(service_id=service.id))
    document = artifact(deployment, [], None, encode_id=lambda kind, pk: f"{kind}:{pk}", queue_position=1)
    assert document["id"] == f"Deployment:{deployment.id}"
    assert document["service"] == {"id": f"Service:{service.id}", "name": service.name}
    assert document["rollbackOf"] is None and document["lastObservedState"] is None
    assert document["queuePosition"] == 1 and document["status"] == "QUEUED"


async def test_numbers_count_per_service(db) -> None:
    target = await server(max_queued_deployments=50)
    first, second = await image_service(target), await image_service(target)
    numbers = []
    for svc in (first, first, second, first, second):
        numbers.append((await start_deployment(owner(), StartSpec(service_id=svc.id))).number)
    assert numbers == [1, 2, 1, 3, 2]


async def test_a_newer_start_supersedes_queued_ones(db) -> None:
    service = await image_service()
    older = await start_deployment(owner(), StartSpec(service_id=service.id, image_tag="v1"))
    running = await start_deployment(owner(), StartSpec(service_id=service.id, image_tag="v2"))
    await run_to(running.id, S.PREPARE)
    queued = await start_deployment(owner(), StartSpec(service_id=service.id, image_tag="v3"))
    woken: list[tuple[int, int | None]] = []

    def listener(deployment_id: int, event_seq: int | None, log_seq: int | None) -> None:
        woken.append((deployment_id, event_seq))

    add_commit_listener(listener)
    try:
        newest = await start_deployment(owner(), StartSpec(service_id=service.id, image_tag="v4"))
    finally:
        remove_commit_listener(listener)
    older = await Deployment.get(id=older.id)
    # `older` was superseded by `running`'s start already; `queued` by `newest`'s.
    for superseded in (older, await Deployment.get(id=queued.id)):
        assert (superseded.status, superseded.conclusion) == (DeploymentStatus.COMPLETED,
                                                              DeploymentConclusion.SKIPPED)
        steps = await DeploymentStep.filter(deployment_id=superseded.id)
        assert len(steps) == 7 and {s.status for s in steps} == {StepStatus.SKIPPED}
        events = await DeploymentEvent.filter(deployment_id=superseded.id).order_by("seq")
        assert events[-1].type == DeploymentEventType.CONCLUDED
    assert (await Deployment.get(id=running.id)).status == DeploymentStatus.PREPARE
    assert (await Deployment.get(id=newest.id)).status == DeploymentStatus.QUEUED
    # Listeners hear about the superseded one after the commit, and about the new one.
    assert (newest.id, 1) in woken and any(pk == queued.id for pk, _ in woken)


async def test_queue_full_stores_nothing(db) -> None:
    target = await server(max_queued_deployments=2)
    a, b, c = await image_service(target), await image_service(target), await image_service(target)
    await start_deployment(owner(), StartSpec(service_id=a.id))
    await start_deployment(owner(), StartSpec(service_id=b.id))
    before = await row_counts()
    queued_a = await Deployment.get(service_id=a.id)
    with pytest.raises(UserFacingError) as caught:
        await start_deployment(owner(), StartSpec(service_id=c.id))
    assert caught.value.code == "QUEUE_FULL"
    with pytest.raises(UserFacingError):
        await start_deployment(owner(), StartSpec(service_id=c.id, idempotency_key="k1"))
    assert await row_counts() == before
    assert (await Service.get(id=c.id)).last_deployment_number == 0
    # A new start of an already queued service supersedes it, so the queue does not grow.
    replacement = await start_deployment(owner(), StartSpec(service_id=a.id, image_tag="v9"))
    assert replacement.number == 2
    assert (await Deployment.get(id=queued_a.id)).conclusion == DeploymentConclusion.SKIPPED


async def test_overrides_must_fit_the_source(db) -> None:
    target, proj = await server(), await project()
    image = await image_service(target, proj)
    dockerfile = await create_service(owner(), ServiceSpec(
        project_id=proj.id, environment="production", name=unique("df"), server_id=target.id,
        source=SourceSpec(type=SourceType.DOCKERFILE, repository="https://example.test/team/app.git",
                          branch="main"),
        health_check=HealthCheckSpec(kind="TCP", port=80),
    ))
    before = await row_counts()
    cases = [
        (StartSpec(service_id=image.id, ref="main"), ["input", "ref"]),
        (StartSpec(service_id=dockerfile.id, image_tag="v2"), ["input", "imageTag"]),
        (StartSpec(service_id=image.id, image_tag="-bad"), ["input", "imageTag"]),
        (StartSpec(service_id=dockerfile.id, ref="a..b"), ["input", "ref"]),
        (StartSpec(service_id=image.id, idempotency_key=""), ["input", "idempotencyKey"]),
        (StartSpec(service_id=image.id, reason="x" * 5000), ["input", "reason"]),
    ]
    for spec, field in cases:
        with pytest.raises(InvalidInput) as caught:
            await start_deployment(owner(), spec)
        assert [e.field for e in caught.value.errors] == [field]
    assert await row_counts() == before
    built = await start_deployment(owner(), StartSpec(service_id=dockerfile.id, ref="v1.2.3"))
    assert built.input["ref"] == "v1.2.3" and built.input["repository"] == "https://example.test/team/app.git"
    assert built.frozen_input["readinessGate"]["healthCheck"]["kind"] == "TCP"
    default_ref = await start_deployment(owner(), StartSpec(service_id=dockerfile.id))
    assert default_ref.input["ref"] == "main"


async def test_compose_start_freezes_the_rendered_files(db) -> None:
    target, proj = await server(), await project()
    content = "services:\n  web:\n    image: nginx:${BERTH_IMAGE_TAG:-alpine}\n"
    service = await create_service(owner(), ServiceSpec(
        project_id=proj.id, environment="staging", name="web", server_id=target.id,
        source=SourceSpec(type=SourceType.COMPOSE, compose_content=content),
    ))
    deployment = await start_deployment(owner(), StartSpec(service_id=service.id, image_tag="1.27"))
    frozen = deployment.frozen_input
    assert frozen["composeFiles"] == [{"path": "compose.yaml", "content": content}]
    assert frozen["composeProject"] == f"berth-{proj.name}-staging-web"
    assert frozen["imageOverride"] == {"tag": "1.27", "variable": "BERTH_IMAGE_TAG"}
    assert deployment.input["imageTag"] == "1.27" and deployment.input["image"] is None


async def test_invisible_service_is_not_found(db) -> None:
    service = await image_service()
    other = await project()
    before = await row_counts()
    for pk in (service.id, 99999):
        with pytest.raises(UserFacingError) as caught:
            await start_deployment(owner(project_ids=[other.id]), StartSpec(service_id=pk))
        assert (caught.value.code, caught.value.field) == ("NOT_FOUND", ["input", "serviceId"])
    assert await row_counts() == before


async def test_privilege_is_checked_again_at_queue_time(db) -> None:
    target = await server(allow_privileged=True)
    service = await image_service(target, volumes=["/srv/data:/data"])
    # The flag goes away (directly in the table: no mutation changes it yet).
    await Server.filter(id=target.id).update(allow_privileged=False)
    before = await row_counts()
    with pytest.raises(InvalidInput) as caught:
        await start_deployment(owner(), StartSpec(service_id=service.id))
    assert caught.value.errors[0].field == ["input", "serviceId"]
    assert await row_counts() == before
    named_only = SourceSpec(type=SourceType.IMAGE, image="nginx", volumes=["data:/data"])
    await update_service(owner(), ServiceUpdateSpec(service_id=service.id, source=named_only))
    assert (await start_deployment(owner(), StartSpec(service_id=service.id))).number == 1


async def test_concurrent_starts_respect_the_queue_limit(db) -> None:
    target = await server(max_queued_deployments=3)
    services = [await image_service(target) for _ in range(8)]
    results = await asyncio.gather(
        *(start_deployment(owner(), StartSpec(service_id=s.id)) for s in services), return_exceptions=True
    )
    created = [r for r in results if isinstance(r, Deployment)]
    refused = [r for r in results if isinstance(r, UserFacingError)]
    assert len(created) == 3 and len(refused) == 5, results
    assert {r.code for r in refused} == {"QUEUE_FULL"}
    assert await Deployment.filter(server_id=target.id, status=DeploymentStatus.QUEUED).count() == 3
