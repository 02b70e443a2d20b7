"""planDeployment: startDeployment's effects and refusals, computed without writing anything."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise import Tortoise

from berth.domain.deployments import start_deployment
from berth.domain.environments import update_environment
from berth.domain.errors import InvalidInput, UserFacingError
from berth.domain.inventory import create_service, update_service
from berth.domain.plans import Plan, plan_deployment
from berth.domain.service_deletion import delete_service
from berth.domain.specs import (
    EnvironmentUpdateSpec,
    EnvVarSpec,
    ServiceSpec,
    ServiceUpdateSpec,
    SourceSpec,
    StartSpec,
)
from berth.models import IdempotencyKey, Observation, Server, Service
from berth.models.enums import DriftStatus, SourceType

from . import image_service, owner, project, server, succeed

SECRET_OLD = "old-secret-" + "q" * 10
SECRET_NEW = "new-secret-" + "z" * 10
DIGEST = "registry.example.test:5000/team/app@sha256:" + "a" * 64


async def everything() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for app in Tortoise.apps.values():
        for model in app.values():
            rows = await model.all().order_by(model._meta.pk_attr).values()
            tables[model._meta.db_table] = rows
    return tables


def problems(error: UserFacingError | None) -> list[tuple[str, str, list[str] | None]]:
    if error is None:
        return []
    items = error.errors if isinstance(error, InvalidInput) else [error]
    return [(e.code, e.message, e.field) for e in items]


async def start_errors(spec: StartSpec, **kwargs: Any) -> list[tuple[str, str, list[str] | None]]:
    try:
        await start_deployment(owner(**kwargs), spec)
    except UserFacingError as error:
        return problems(error)
    raise AssertionError(f"startDeployment accepted {spec}")


async def test_a_plan_writes_nothing_and_reserves_no_key(db) -> None:
    service = await image_service()
    await succeed((await start_deployment(owner(), StartSpec(service_id=service.id))).id)
    queued = await start_deployment(owner(), StartSpec(service_id=service.id, image_tag="v3"))
    spec = StartSpec(service_id=service.id, image_tag="v4", reason="try", idempotency_key="plan-key-1")
    before = await everything()
    plan = await plan_deployment(owner(), spec)
    assert plan.problem is None and [d.id for d in plan.would_supersede] == [queued.id]
    assert await everything() == before
    # The key was only looked at: the start that follows takes it.
    started = await start_deployment(owner(), spec)
    assert await IdempotencyKey.filter(key="plan-key-1", deployment_id=started.id).exists()
    # Planning the same input again: the key now names that deployment, which is no refusal.
    assert (await plan_deployment(owner(), spec)).problem is None
    other = StartSpec(service_id=service.id, image_tag="v5", idempotency_key="plan-key-1")
    plan = await plan_deployment(owner(), other)
    assert problems(plan.problem) == await start_errors(other)
    assert plan.problem is not None and plan.problem.code == "IDEMPOTENCY_KEY_REUSED"


async def test_problems_are_exactly_what_start_refuses(db) -> None:
    full = await server(max_queued_deployments=1)
    proj = await project()
    image = await image_service(in_project=proj)
    dockerfile = await create_service(owner(), ServiceSpec(
        project_id=proj.id, environment="production", name="df", server_id=image.server_id,  # type: ignore[attr-defined]
        source=SourceSpec(type=SourceType.DOCKERFILE, repository="https://example.test/team/app.git", branch="main"),
    ))
    crowded = await image_service(full)
    await start_deployment(owner(), StartSpec(service_id=(await image_service(full)).id))
    privileged = await image_service(await server(allow_privileged=True), volumes=["/srv/data:/data"])
    await Server.filter(id=privileged.server_id).update(allow_privileged=False)  # type: ignore[attr-defined]
    deleted = await image_service()
    await delete_service(owner(), deleted.id)
    cases: list[tuple[StartSpec, dict[str, Any]]] = [
        (StartSpec(service_id=image.id, ref="main"), {}),
        (StartSpec(service_id=dockerfile.id, image_tag="v2", reason="x" * 5000), {}),
        (StartSpec(service_id=image.id, image_tag="-bad", idempotency_key=""), {}),
        (StartSpec(service_id=dockerfile.id, ref="a..b"), {}),
        (StartSpec(service_id=10**9), {}),
        (StartSpec(service_id=image.id), {"project_ids": [(await project()).id]}),
        (StartSpec(service_id=crowded.id), {}),
        (StartSpec(service_id=privileged.id), {}),
        (StartSpec(service_id=deleted.id), {}),
    ]
    for spec, who in cases:
        before = await everything()
        plan = await plan_deployment(owner(**who), spec)
        assert await everything() == before
        expected = await start_errors(spec, **who)
        assert expected and problems(plan.problem) == expected, spec
        assert plan.changes == [] and plan.would_supersede == []


async def test_changes_against_the_live_state_never_show_secret_values(db) -> None:
    service = await image_service(
        env=[EnvVarSpec("MODE", "prod"), EnvVarSpec("OLD", "1"), EnvVarSpec("TOKEN", SECRET_OLD, secret=True),
             EnvVarSpec("KEEP", SECRET_OLD, secret=True)],
        ports=["8080:80"],
    )
    live = await succeed((await start_deployment(owner(), StartSpec(service_id=service.id))).id,
                         imageDigest=DIGEST)
    await Observation.create(
        service=service, observed_at=datetime.now(UTC), drift=DriftStatus.IN_SYNC, compared_with=live,
        containers=[{"name": "web", "image": "registry.example.test:5000/team/app:v1", "imageDigest": DIGEST,
                     "state": "running"}],
    )
    await update_service(owner(), ServiceUpdateSpec(
        service_id=service.id,
        source=SourceSpec(type=SourceType.IMAGE, image="registry.example.test:5000/team/app:v2", ports=["8081:80"]),
        env=[EnvVarSpec("MODE", "staging"), EnvVarSpec("NEW", "2"), EnvVarSpec("TOKEN", SECRET_NEW, secret=True),
             EnvVarSpec("KEEP", SECRET_OLD, secret=True), EnvVarSpec("ADDED", SECRET_NEW, secret=True)],
    ))
    plan = await plan_deployment(owner(), StartSpec(service_id=service.id))
    assert plan.problem is None
    changes = {c.path: (c.before, c.after) for c in plan.changes}
    assert changes == {
        "image": ("registry.example.test:5000/team/app:v1", "registry.example.test:5000/team/app:v2"),
        "imageTag": ("v1", "v2"),
        "ports": (["8080:80"], ["8081:80"]),
        "env.MODE": ("prod", "staging"),
        "env.OLD": ("1", None),
        "env.NEW": (None, "2"),
        "env.TOKEN": ({"secret": True}, {"secret": True}),
        "env.ADDED": (None, {"secret": True}),
    }
    assert SECRET_OLD not in repr(plan) and SECRET_NEW not in repr(plan)
    assert plan.service is not None and plan.service.id == service.id
    assert (plan.queue_ahead, plan.requires_approval, plan.would_supersede) == (0, False, [])


async def test_a_first_deployment_changes_everything_from_nothing(db) -> None:
    service = await image_service(env=[EnvVarSpec("MODE", "prod")])
    plan = await plan_deployment(owner(), StartSpec(service_id=service.id, image_tag="v9"))
    changes = {c.path: (c.before, c.after) for c in plan.changes}
    assert changes["image"] == (None, "registry.example.test:5000/team/app:v9")
    assert changes["env.MODE"] == (None, "prod")
    assert "imageDigest" not in changes  # resolved by PULL, not a removal


async def test_compose_services_added_and_removed(db) -> None:
    target, proj = await server(), await project()
    first = "services:\n  web:\n    image: nginx\n  worker:\n    image: busybox\n"
    service = await create_service(owner(), ServiceSpec(
        project_id=proj.id, environment="production", name="stack", server_id=target.id,
        source=SourceSpec(type=SourceType.COMPOSE, compose_content=first),
    ))
    await succeed((await start_deployment(owner(), StartSpec(service_id=service.id))).id)
    second = "services:\n  web:\n    image: nginx\n  cache:\n    image: redis\n"
    await update_service(owner(), ServiceUpdateSpec(
        service_id=service.id, source=SourceSpec(type=SourceType.COMPOSE, compose_content=second)))
    plan = await plan_deployment(owner(), StartSpec(service_id=service.id))
    services = {c.path: (c.before, c.after) for c in plan.changes if c.path.startswith("composeFiles.")}
    assert services == {
        "composeFiles.services.cache": (None, "cache"),
        "composeFiles.services.worker": ("worker", None),
    }


async def test_queue_ahead_superseding_and_approval(db) -> None:
    target = await server(max_concurrent_deployments=1)
    service = await image_service(target)
    other = await image_service(target)
    ahead = await start_deployment(owner(), StartSpec(service_id=other.id))
    mine = await start_deployment(owner(), StartSpec(service_id=service.id))
    plan: Plan = await plan_deployment(owner(), StartSpec(service_id=service.id))
    assert [d.id for d in plan.would_supersede] == [mine.id]
    assert (plan.queue_ahead, plan.requires_approval) == (1, False)
    await update_environment(owner(), EnvironmentUpdateSpec(
        environment_id=service.environment_id, required_approvals=1))  # type: ignore[attr-defined]
    protected = await plan_deployment(owner(), StartSpec(service_id=service.id))
    # Waiting for approval it supersedes nothing; two are in the queue now.
    assert (protected.requires_approval, protected.would_supersede, protected.queue_ahead) == (True, [], 2)
    assert ahead.id != mine.id
    assert await Service.filter(id=service.id).first() is not None
