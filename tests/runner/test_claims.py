"""Claim rules (CONTRACT §3, Queue): FIFO per server, one active deployment per service,
`maxConcurrentDeployments` per server, attempt as fencing token, never claimed twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from berth.models import Deployment
from berth.models.enums import DeploymentConclusion, DeploymentStatus, ErrorCode
from berth.models.git import PreviewEnvironment
from berth.models.lifecycle import TransitionRefused, apply_change, conclude_from_queue, now
from berth.runner.claims import Claim, active_count, claim_next, claim_on_server
from tests.models.factories import make_deployment
from tests.runner.runner_support import make_server, make_service, queue, succeed

S = DeploymentStatus
LEASE = 30.0


async def claim_all(runner_id: str = "r1") -> list[Claim]:
    claims = []
    while (claim := await claim_next(runner_id, LEASE)) is not None:
        claims.append(claim)
    return claims


async def test_claim_records_runner_lease_and_attempt(db) -> None:
    service = await make_service(await make_server())
    deployment = await queue(service)
    before = now()
    claim = await claim_next("host:1:abc", LEASE)
    assert claim == Claim(deployment.id, 1, service.id, service.server_id)  # type: ignore[attr-defined]
    stored = await Deployment.get(id=deployment.id)
    assert stored.status == S.QUEUED and stored.claimed_by == "host:1:abc" and stored.attempt == 1
    assert stored.lease_expires_at is not None
    assert before + timedelta(seconds=LEASE - 1) < stored.lease_expires_at < now() + timedelta(seconds=LEASE)
    assert await claim_next("host:2:def", LEASE) is None  # claimed: nobody else gets it
    # The attempt fences the run's writes: attempt 1 moves it, a stale attempt 0 cannot.
    with pytest.raises(TransitionRefused):
        await apply_change(deployment.id, from_status=S.QUEUED, to_status=S.PREPARE, attempt=0)
    await apply_change(deployment.id, from_status=S.QUEUED, to_status=S.PREPARE, attempt=1)


async def test_fifo_per_server_and_longest_waiting_server_first(db) -> None:
    busy = await make_server(max_concurrent_deployments=5)
    other = await make_server(max_concurrent_deployments=5)
    services = [await make_service(busy) for _ in range(3)]
    later = await make_service(other)
    first = [await queue(service) for service in services]
    elsewhere = await queue(later)
    claims = await claim_all()
    assert [c.deployment_id for c in claims] == [*(d.id for d in first), elsewhere.id]
    assert all(c.attempt == 1 for c in claims)


async def test_each_preview_is_a_lane_of_its_own(db) -> None:
    """The service and each pull request's preview run their deployments independently (their
    objects are apart); within a lane it is still one at a time, oldest first."""
    server = await make_server(max_concurrent_deployments=5)
    service = await make_service(server)
    moment = now()
    previews = [await PreviewEnvironment.create(
        service_id=service.id, pull_request=number, head_ref="f", head_sha="a" * 40, base_ref="main",
        created_at=moment, updated_at=moment) for number in (1, 2)]
    production = await make_deployment(service)
    first_pr = await make_deployment(service, preview_id=previews[0].id)
    later_pr = await make_deployment(service, preview_id=previews[0].id)
    other_pr = await make_deployment(service, preview_id=previews[1].id)
    claimed = {claim.deployment_id for claim in await claim_all()}
    assert claimed == {production.id, first_pr.id, other_pr.id}
    assert later_pr.id not in claimed  # waits for the older one of its own preview


async def test_one_active_deployment_per_service(db) -> None:
    server = await make_server(max_concurrent_deployments=5)
    service = await make_service(server)
    # Two QUEUED deployments of one service (the factory does not supersede).
    older = await make_deployment(service)
    newer = await make_deployment(service)
    claim = await claim_next("r1", LEASE)
    assert claim is not None and claim.deployment_id == older.id
    assert await claim_next("r1", LEASE) is None  # claimed, not yet running: still active
    await apply_change(older.id, from_status=S.QUEUED, to_status=S.PREPARE, attempt=1)
    assert await claim_next("r1", LEASE) is None  # running
    await apply_change(older.id, from_status=S.PREPARE, to_status=S.FAILED,
                       conclusion=DeploymentConclusion.FAILED, attempt=1)
    claim = await claim_next("r1", LEASE)
    assert claim is not None and claim.deployment_id == newer.id


async def test_per_service_order_is_kept_even_when_another_service_waits_longer(db) -> None:
    server = await make_server(max_concurrent_deployments=5)
    a, b = await make_service(server), await make_service(server)
    a1 = await make_deployment(a)
    b1 = await make_deployment(b)
    a2 = await make_deployment(a)
    claims = await claim_all()
    assert [c.deployment_id for c in claims] == [a1.id, b1.id]  # a2 waits for a1
    await succeed(a1.id, attempt=1)
    assert [c.deployment_id for c in await claim_all()] == [a2.id]


async def test_server_limit_is_honoured(db) -> None:
    server = await make_server(max_concurrent_deployments=2)
    services = [await make_service(server) for _ in range(3)]
    queued = [await queue(service) for service in services]
    first = await claim_all()
    assert [c.deployment_id for c in first] == [queued[0].id, queued[1].id]
    assert await active_count(server.id) == 2
    # A claim whose lease lapsed still counts until it is reclaimed (its containers may run).
    await Deployment.filter(id=queued[0].id).update(lease_expires_at=now() - timedelta(seconds=60))
    assert await claim_on_server(server.id, "r2", LEASE) is None
    await succeed(queued[1].id, attempt=1)
    assert [c.deployment_id for c in await claim_all()] == [queued[2].id]


async def test_terminal_and_superseded_deployments_are_not_claimed(db) -> None:
    service = await make_service(await make_server())
    skipped = await queue(service)
    newest = await queue(service)  # supersedes the first
    canceled_service = await make_service(await make_server())
    canceled = await queue(canceled_service)
    await conclude_from_queue(canceled.id, DeploymentConclusion.CANCELED,
                              {"step": None, "code": str(ErrorCode.CANCELED), "message": "no"})
    assert [c.deployment_id for c in await claim_all()] == [newest.id]
    assert (await Deployment.get(id=skipped.id)).attempt == 0


async def test_concurrent_claimers_never_claim_one_deployment_twice(db) -> None:
    limited = await make_server(max_concurrent_deployments=3)
    open_server = await make_server(max_concurrent_deployments=100, max_queued_deployments=100)
    limited_ids = [(await queue(await make_service(limited))).id for _ in range(8)]
    open_ids = [(await queue(await make_service(open_server))).id for _ in range(24)]

    async def claimer(index: int) -> list[Claim]:
        claims = []
        while (claim := await claim_next(f"runner-{index}", LEASE)) is not None:
            claims.append(claim)
            await asyncio.sleep(0)  # let the others interleave
        return claims

    results = await asyncio.gather(*(claimer(i) for i in range(8)))
    claimed = [c.deployment_id for batch in results for c in batch]
    assert len(claimed) == len(set(claimed)), "a deployment was claimed twice"
    assert sorted(d for d in claimed if d in open_ids) == sorted(open_ids)
    # The limited server's limit held under concurrency: the three oldest, no more.
    assert sorted(d for d in claimed if d in limited_ids) == limited_ids[:3]
    rows = await Deployment.filter(id__in=claimed)
    assert {row.attempt for row in rows} == {1}
    owners = {row.id: row.claimed_by for row in rows}
    for index, batch in enumerate(results):
        assert all(owners[c.deployment_id] == f"runner-{index}" for c in batch)
