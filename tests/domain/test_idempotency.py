"""Idempotency keys: same input replays, other input is refused, concurrent duplicates make one."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from berth.domain.cancel import cancel_deployment
from berth.domain.deployments import start_deployment
from berth.domain.errors import UserFacingError
from berth.domain.rollback import rollback_deployment
from berth.domain.specs import RollbackSpec, StartSpec
from berth.models import Deployment, IdempotencyKey
from berth.models.enums import Role, TokenKind

from . import image_service, owner, row_counts, server, succeed


async def start(service_id: int, **fields: Any) -> Deployment:
    return await start_deployment(owner(), StartSpec(service_id=service_id, **fields))


async def test_same_key_same_input_returns_the_original(db) -> None:
    service = await image_service()
    spec = StartSpec(service_id=service.id, image_tag="v2", idempotency_key="deploy-42", reason="r")
    first = await start_deployment(owner(), spec)
    before = await row_counts()
    again = await start_deployment(owner(), spec)
    assert again.id == first.id
    assert await row_counts() == before
    # Another credential has its own key space.
    other = await start_deployment(owner(token_id=2), spec)
    assert other.id != first.id
    # A JWT user is keyed by issuer + subject.
    user = owner(token_kind=TokenKind.JWT, role=Role.OWNER)
    assert (await start_deployment(user, spec)).id not in (first.id, other.id)


async def test_same_key_other_input_is_refused(db) -> None:
    service = await image_service()
    await start_deployment(owner(), StartSpec(service_id=service.id, image_tag="v2", idempotency_key="k"))
    before = await row_counts()
    for changed in (
        StartSpec(service_id=service.id, image_tag="v3", idempotency_key="k"),
        StartSpec(service_id=service.id, image_tag="v2", idempotency_key="k", reason="other reason"),
    ):
        with pytest.raises(UserFacingError) as caught:
            await start_deployment(owner(), changed)
        assert caught.value.code == "IDEMPOTENCY_KEY_REUSED"
        assert caught.value.field == ["input", "idempotencyKey"]
    assert await row_counts() == before


async def test_keys_are_per_mutation_and_expire(db) -> None:
    service = await image_service()
    first = await start(service.id, image_tag="v1", idempotency_key="k")
    await succeed(first.id)
    second = await start_deployment(owner(), StartSpec(service_id=service.id, image_tag="v2"))
    await succeed(second.id)
    # The same key on another mutation is another key.
    rollback = await rollback_deployment(owner(), RollbackSpec(service_id=service.id, idempotency_key="k"))
    assert rollback.rollback_of_id == first.id  # type: ignore[attr-defined]
    retried = await rollback_deployment(owner(), RollbackSpec(service_id=service.id, idempotency_key="k"))
    assert retried.id == rollback.id
    # After 24 hours the key may be used again, with any input.
    await IdempotencyKey.filter(key="k", mutation="startDeployment").update(
        created_at=first.created_at - timedelta(hours=25)
    )
    reused = await start(service.id, image_tag="v9", idempotency_key="k")
    assert reused.id != first.id
    assert await IdempotencyKey.filter(key="k", mutation="startDeployment").count() == 1


async def test_failed_calls_are_not_recorded(db) -> None:
    target = await server(max_queued_deployments=1)
    busy, service = await image_service(target), await image_service(target)
    queued = await start_deployment(owner(), StartSpec(service_id=busy.id))
    with pytest.raises(UserFacingError) as caught:
        await start_deployment(owner(), StartSpec(service_id=service.id, image_tag="v1", idempotency_key="q"))
    assert caught.value.code == "QUEUE_FULL"
    assert await IdempotencyKey.filter(key="q").count() == 0
    # Once there is room, the same key and another input is accepted: the failure left no trace.
    await cancel_deployment(owner(), queued.id, None)
    ok = await start(service.id, image_tag="v2", idempotency_key="q")
    assert ok.number == 1


async def test_concurrent_duplicates_create_one_deployment(db) -> None:
    service = await image_service()
    spec = StartSpec(service_id=service.id, image_tag="v5", idempotency_key="burst")
    results = await asyncio.gather(*(start_deployment(owner(), spec) for _ in range(10)))
    assert len({d.id for d in results}) == 1
    assert await Deployment.filter(service_id=service.id).count() == 1
    assert await IdempotencyKey.filter(key="burst").count() == 1


async def test_concurrent_duplicates_with_other_input_are_refused(db) -> None:
    service = await image_service()
    specs = [StartSpec(service_id=service.id, image_tag=f"v{i % 2}", idempotency_key="mix") for i in range(6)]
    results = await asyncio.gather(*(start_deployment(owner(), s) for s in specs), return_exceptions=True)
    created = {r.id for r in results if isinstance(r, Deployment)}
    refused = [r for r in results if isinstance(r, UserFacingError)]
    assert len(created) == 1 and len(refused) == 3
    assert {r.code for r in refused} == {"IDEMPOTENCY_KEY_REUSED"}
    assert await Deployment.filter(service_id=service.id).count() == 1


async def test_concurrent_key_reuse_across_servers(db) -> None:
    # Different servers take different row locks, so here the unique constraint decides.
    first, second = await image_service(await server()), await image_service(await server())
    specs = [StartSpec(service_id=s.id, idempotency_key="cross") for s in (first, second) * 3]
    results = await asyncio.gather(*(start_deployment(owner(), s) for s in specs), return_exceptions=True)
    created = {r.id for r in results if isinstance(r, Deployment)}
    refused = [r for r in results if isinstance(r, UserFacingError)]
    assert len(created) == 1 and len(refused) == 3, results
    assert {r.code for r in refused} == {"IDEMPOTENCY_KEY_REUSED"}
    assert await Deployment.all().count() == 1
