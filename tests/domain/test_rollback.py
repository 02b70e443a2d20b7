"""rollbackDeployment: target choice, exact replay of the frozen input, queue rules."""

from __future__ import annotations

import pytest

from berth.domain.deployments import start_deployment
from berth.domain.errors import UserFacingError
from berth.domain.inventory import update_service
from berth.domain.rollback import rollback_deployment
from berth.domain.secrets import decrypt_json
from berth.domain.specs import EnvVarSpec, RollbackSpec, ServiceUpdateSpec, SourceSpec, StartSpec
from berth.models import Deployment, Service
from berth.models.enums import DeploymentStatus, DeploymentTrigger, Role, SourceType

from . import image_service, owner, project, row_counts, succeed

DIGEST = "registry.example.test:5000/team/app@sha256:"


async def _deploy(service: Service, tag: str, digest: str | None = None) -> Deployment:
    started = await start_deployment(owner(), StartSpec(service_id=service.id, image_tag=tag))
    resolved = {"imageDigest": DIGEST + digest * 64} if digest else {}
    return await succeed(started.id, **resolved)


async def test_default_target_is_the_newest_earlier_different_artifact(db) -> None:
    service = await image_service(env=[EnvVarSpec("TOKEN", "old-secret", secret=True)])
    v1 = await _deploy(service, "v1", "1")
    await update_service(owner(), ServiceUpdateSpec(service_id=service.id,
                                                    env=[EnvVarSpec("TOKEN", "new-secret", secret=True)]))
    await _deploy(service, "v2", "2")
    # Same artifact as v2 again (another tag, same digest): not a rollback target.
    await _deploy(service, "v2b", "2")
    rollback = await rollback_deployment(owner(role=Role.AGENT), RollbackSpec(service_id=service.id,
                                                                             reason="bad release"))
    assert rollback.rollback_of_id == v1.id  # type: ignore[attr-defined]
    assert rollback.status == DeploymentStatus.QUEUED and rollback.number == 4
    assert rollback.trigger == DeploymentTrigger.AGENT and rollback.actor["role"] == "AGENT"
    assert rollback.frozen_input == v1.frozen_input and rollback.input == v1.input
    assert rollback.frozen_input["imageDigest"] == DIGEST + "1" * 64
    assert decrypt_json(rollback.frozen_secrets_enc or "") == {"TOKEN": "old-secret"}
    assert rollback.reason == "bad release"
    assert rollback.config_snapshot["rollbackOf"] == {"id": v1.id, "number": 1}
    assert rollback.declared_config["env"] == [{"key": "TOKEN", "secret": True, "value": "***"}]


async def test_without_digests_the_frozen_input_decides(db) -> None:
    service = await image_service()
    v1 = await _deploy(service, "v1")
    await _deploy(service, "v2")
    await _deploy(service, "v2")
    rollback = await rollback_deployment(owner(), RollbackSpec(service_id=service.id))
    assert rollback.rollback_of_id == v1.id  # type: ignore[attr-defined]


async def test_explicit_target(db) -> None:
    service = await image_service()
    v1 = await _deploy(service, "v1", "1")
    v2 = await _deploy(service, "v2", "2")
    again = await rollback_deployment(owner(), RollbackSpec(service_id=service.id, to_deployment_id=v2.id))
    assert again.rollback_of_id == v2.id and again.frozen_input == v2.frozen_input  # type: ignore[attr-defined]
    await succeed(again.id)
    back = await rollback_deployment(owner(), RollbackSpec(service_id=service.id, to_deployment_id=v1.id))
    assert back.rollback_of_id == v1.id  # type: ignore[attr-defined]


async def test_explicit_target_must_be_a_success_of_the_same_service(db) -> None:
    service = await image_service()
    other = await image_service()
    foreign = await _deploy(other, "v1")
    queued = await start_deployment(owner(), StartSpec(service_id=service.id))
    before = await row_counts()
    for target in (foreign.id, queued.id):
        with pytest.raises(UserFacingError) as caught:
            await rollback_deployment(owner(), RollbackSpec(service_id=service.id, to_deployment_id=target))
        assert (caught.value.code, caught.value.field) == ("INVALID_INPUT", ["input", "toDeploymentId"])
    with pytest.raises(UserFacingError) as caught:
        await rollback_deployment(owner(), RollbackSpec(service_id=service.id, to_deployment_id=10**9))
    assert (caught.value.code, caught.value.field) == ("NOT_FOUND", ["input", "toDeploymentId"])
    # Another project's deployment is not found, not "wrong service": nothing leaks about it.
    limited = owner(project_ids=[service.project_id])  # type: ignore[attr-defined]
    with pytest.raises(UserFacingError) as caught:
        await rollback_deployment(limited, RollbackSpec(service_id=service.id, to_deployment_id=foreign.id))
    assert caught.value.code == "NOT_FOUND"
    assert await row_counts() == before


async def test_no_rollback_target(db) -> None:
    service = await image_service()
    with pytest.raises(UserFacingError) as caught:
        await rollback_deployment(owner(), RollbackSpec(service_id=service.id))
    assert caught.value.code == "NO_ROLLBACK_TARGET"
    await _deploy(service, "v1", "1")
    await _deploy(service, "v1", "1")
    before = await row_counts()
    with pytest.raises(UserFacingError) as caught:
        await rollback_deployment(owner(), RollbackSpec(service_id=service.id))
    assert caught.value.code == "NO_ROLLBACK_TARGET"
    assert await row_counts() == before


async def test_rollback_follows_the_queue_rules(db) -> None:
    service = await image_service()
    v1 = await _deploy(service, "v1", "1")
    await _deploy(service, "v2", "2")
    pending = await start_deployment(owner(), StartSpec(service_id=service.id, image_tag="v3"))
    rollback = await rollback_deployment(owner(), RollbackSpec(service_id=service.id, to_deployment_id=v1.id))
    assert (await Deployment.get(id=pending.id)).conclusion == "SKIPPED"
    assert rollback.number == 4


async def test_rollback_of_invisible_service_is_not_found(db) -> None:
    service = await image_service()
    with pytest.raises(UserFacingError) as caught:
        elsewhere = owner(project_ids=[(await project()).id])
        await rollback_deployment(elsewhere, RollbackSpec(service_id=service.id))
    assert (caught.value.code, caught.value.field) == ("NOT_FOUND", ["input", "serviceId"])


async def test_rollback_replays_even_after_the_source_changed(db) -> None:
    service = await image_service()
    v1 = await _deploy(service, "v1", "1")
    await _deploy(service, "v2", "2")
    compose = SourceSpec(type=SourceType.COMPOSE, compose_content="services:\n  web:\n    image: nginx\n")
    await update_service(owner(), ServiceUpdateSpec(service_id=service.id, source=compose))
    rollback = await rollback_deployment(owner(), RollbackSpec(service_id=service.id))
    assert rollback.frozen_input == v1.frozen_input and rollback.input["sourceType"] == "IMAGE"
    assert rollback.declared_config["sourceType"] == "COMPOSE"
