"""The runner loop: running claimed deployments, heartbeats, reclaiming lost ones, stopping,
readiness; and two `berth runner`-like processes sharing one PostgreSQL queue."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from berth.models import Deployment, DeploymentEvent, DeploymentStep, Server
from berth.models.enums import (
    DeploymentConclusion,
    DeploymentEventType,
    DeploymentStatus,
    ErrorCode,
    StepKind,
    StepStatus,
)
from berth.models.lifecycle import LogEntry, StepChange, TransitionRefused, append_logs, apply_change, now
from berth.runner.claims import claim_next
from berth.runner.docker_api import ContainerSpec, DockerApi, EndpointError
from berth.runner.docker_fake import FakeDocker
from berth.runner.labels import deployment_labels
from berth.runner.loop import Runner
from berth.settings import Settings, get_settings
from tests.models.factories import make_deployment
from tests.runner.runner_support import (
    REPO_ROOT,
    RunnerProcess,
    concluded,
    fake_execute,
    make_server,
    make_service,
    queue,
    ran_lines,
    status_moves,
)
from tests.support.live_server import LiveServer, running_server, server_env
from tests.support.polling import poll

S = DeploymentStatus


def settings(**changes: Any) -> Settings:
    values = {"lease_seconds": 5.0, "heartbeat_seconds": 0.5, "runner_poll_seconds": 0.1,
              "shutdown_grace_seconds": 2.0, **changes}
    return dataclasses.replace(get_settings(), **values)


def fake_engines(fake: FakeDocker) -> Callable[[Server], Awaitable[DockerApi]]:
    async def factory(server: Server) -> DockerApi:
        if server.docker_host.startswith("unix:///nonexistent"):
            raise EndpointError(f"cannot connect to {server.docker_host}")
        return fake

    return factory


@pytest.fixture
async def runners() -> AsyncIterator[list[Runner]]:
    """Runners a test starts; stopped at the end whatever happened."""
    started: list[Runner] = []
    yield started
    for runner in started:
        await runner.stop(grace=0)


async def started(runners: list[Runner], runner: Runner) -> Runner:
    runners.append(runner)
    await runner.start()
    return runner


class Gate:
    """A stand-in executor that moves to PREPARE and waits until the test opens it."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.entered: list[int] = []
        self.cancelled: list[int] = []

    async def __call__(self, deployment_id: int, attempt: int, settings: Settings) -> None:
        await apply_change(deployment_id, from_status=S.QUEUED, to_status=S.PREPARE, attempt=attempt,
                           steps=[StepChange(StepKind.CLONE, StepStatus.RUNNING)])
        self.entered.append(deployment_id)
        try:
            await self.open.wait()
        except asyncio.CancelledError:
            self.cancelled.append(deployment_id)
            raise
        await apply_change(deployment_id, from_status=S.PREPARE, to_status=S.FAILED, attempt=attempt,
                           conclusion=DeploymentConclusion.FAILED,
                           steps=[StepChange(StepKind.CLONE, StepStatus.FAILED)],
                           error={"step": "CLONE", "code": "CLONE_FAILED", "message": "gate"})


# ----------------------------------------------------------------------------- running


async def test_runner_runs_the_queue_in_order_within_the_limits(db, runners) -> None:
    server = await make_server(max_concurrent_deployments=2)
    services = [await make_service(server) for _ in range(3)]
    # Two QUEUED per service (the factory does not supersede): each pair runs in order.
    ids = [(await make_deployment(service)).id for _ in range(2) for service in services]
    observed: list[int] = []

    async def after(service_id: int) -> None:
        observed.append(service_id)

    await started(runners, Runner(settings(), fake_execute, after_deployment=after))
    rows = await poll(lambda: concluded(ids), 30, "every deployment to conclude")
    assert {(row.conclusion, row.attempt) for row in rows} == {(DeploymentConclusion.SUCCEEDED, 1)}
    for row in rows:
        assert await status_moves(row.id) == ["PREPARE", "DEPLOY", "FINALIZE", "COMPLETED"]
        assert len(await ran_lines(row.id)) == 1
    for service in services:
        mine = sorted((row for row in rows if row.service_id == service.id), key=lambda r: r.id)  # type: ignore[attr-defined]
        assert mine[0].concluded_at is not None and mine[1].started_at is not None
        assert mine[0].concluded_at <= mine[1].started_at, "a service ran two deployments at once"
    # Never more than two at once on the server.
    moments = sorted([(row.started_at, 1) for row in rows] + [(row.concluded_at, -1) for row in rows],
                     key=lambda item: (item[0], item[1]))
    running = peak = 0
    for _, delta in moments:
        running += delta
        peak = max(peak, running)
    assert peak <= 2
    await poll(lambda: _true(len(observed) == len(ids)), 10, "the observer hook after each deployment")
    assert sorted(observed) == sorted(s.id for s in services for _ in range(2))


async def _true(value: bool) -> bool:
    return value


async def test_heartbeat_renews_leases_and_notices_a_lost_claim(db, runners) -> None:
    gate = Gate()
    runner = await started(runners, Runner(settings(heartbeat_seconds=60), gate))
    assert runner.healthy()
    service = await make_service(await make_server())
    deployment = await queue(service)
    runner.wake()
    await poll(lambda: _true(deployment.id in gate.entered), 10, "the deployment to start")
    before = (await Deployment.get(id=deployment.id)).lease_expires_at
    await runner.heartbeat()
    after = await Deployment.get(id=deployment.id)
    assert before is not None and after.lease_expires_at is not None and after.lease_expires_at > before
    assert after.claimed_by == runner.id
    # Readiness follows the heartbeat: stale after a lease period without one.
    runner.last_heartbeat = (runner.last_heartbeat or 0) - 1000
    assert not runner.healthy()
    # Another runner took the claim over (our lease had lapsed): the local run is stopped.
    await Deployment.filter(id=deployment.id).update(claimed_by="other:1:x", attempt=2)
    await runner.heartbeat()
    assert runner.healthy()
    await poll(lambda: _true(deployment.id in gate.cancelled), 5, "the lost run to be cancelled")
    assert runner.running_deployments == []


async def test_an_executor_error_concludes_runner_lost_at_once(db, runners) -> None:
    fake = FakeDocker()

    async def broken(deployment_id: int, attempt: int, settings: Settings) -> None:
        await apply_change(deployment_id, from_status=S.QUEUED, to_status=S.PREPARE, attempt=attempt,
                           steps=[StepChange(StepKind.CLONE, StepStatus.RUNNING)])
        raise RuntimeError("executor bug")

    await started(runners, Runner(settings(), broken, engine_factory=fake_engines(fake)))
    deployment = await queue(await make_service(await make_server()))
    runners[0].wake()
    [row] = await poll(lambda: concluded([deployment.id]), 10, "the deployment to conclude")
    assert (row.status, row.conclusion) == (S.FAILED, DeploymentConclusion.FAILED)
    assert row.error["code"] == "RUNNER_LOST" and "executor bug" in row.error["message"]
    assert row.error["step"] == "CLONE"


# ----------------------------------------------------------------------------- reclaim


async def lost_deployment(server: Server, status: DeploymentStatus, *, lapsed: bool = True) -> Deployment:
    """A deployment claimed by a runner that is gone (attempt 1), moved to `status`."""
    service = await make_service(server)
    deployment = await queue(service)
    assert (await claim_next("ghost:1:dead", 30)) is not None
    if status != S.QUEUED:
        await apply_change(deployment.id, from_status=S.QUEUED, to_status=S.PREPARE, attempt=1, steps=[
            StepChange(StepKind.CLONE, StepStatus.SKIPPED), StepChange(StepKind.BUILD, StepStatus.SKIPPED),
            StepChange(StepKind.PULL, StepStatus.RUNNING)])
    if status == S.DEPLOY:
        await apply_change(deployment.id, from_status=S.PREPARE, attempt=1,
                           steps=[StepChange(StepKind.PULL, StepStatus.SUCCEEDED)])
        await apply_change(deployment.id, from_status=S.PREPARE, to_status=S.DEPLOY, attempt=1, steps=[
            StepChange(StepKind.VOLUME, StepStatus.SKIPPED), StepChange(StepKind.START, StepStatus.RUNNING)])
    expires = now() + (timedelta(seconds=-5) if lapsed else timedelta(seconds=60))
    await Deployment.filter(id=deployment.id).update(lease_expires_at=expires)
    return await Deployment.get(id=deployment.id)


def labelled(deployment: Deployment, attempt: int = 1) -> dict[str, str]:
    return deployment_labels(service_id=deployment.service_id, environment_id=deployment.environment_id,  # type: ignore[attr-defined]
                             project_id=deployment.project_id, deployment_id=deployment.id, attempt=attempt)  # type: ignore[attr-defined]


async def test_reclaim_cleans_up_and_concludes_runner_lost(db) -> None:
    fake = FakeDocker()
    fake.add_local_image("app:1")
    server = await make_server(max_concurrent_deployments=3)
    running = await lost_deployment(server, S.DEPLOY)
    claimed_only = await lost_deployment(server, S.QUEUED)
    alive = await lost_deployment(server, S.PREPARE, lapsed=False)
    mine = await fake.run_container(ContainerSpec(name="lost-new", image="app:1", labels=labelled(running)))
    previous_labels = {**labelled(running), "io.berth.deployment-id": "999999"}
    previous = await fake.run_container(ContainerSpec(name="previous", image="app:1", labels=previous_labels))
    await fake.create_volume("lost-new-data", labels=labelled(running))
    await fake.create_volume("previous-data", labels=previous_labels)
    runner = Runner(settings(), fake_execute, engine_factory=fake_engines(fake))

    assert sorted(await runner.reclaim()) == sorted([running.id, claimed_only.id])

    row = await Deployment.get(id=running.id)
    assert (row.status, row.conclusion, row.attempt, row.claimed_by) == (
        S.FAILED, DeploymentConclusion.FAILED, 2, runner.id)
    assert row.error["code"] == str(ErrorCode.RUNNER_LOST) and row.error["step"] == "START"
    assert "lost-new" in row.error["message"]
    steps = {s.kind: s.status for s in await DeploymentStep.filter(deployment_id=running.id)}
    assert steps == {StepKind.CLONE: StepStatus.SKIPPED, StepKind.BUILD: StepStatus.SKIPPED,
                     StepKind.PULL: StepStatus.SUCCEEDED, StepKind.VOLUME: StepStatus.SKIPPED,
                     StepKind.START: StepStatus.FAILED, StepKind.HEALTH: StepStatus.SKIPPED,
                     StepKind.FINALIZE: StepStatus.SKIPPED}
    events = await DeploymentEvent.filter(deployment_id=running.id).order_by("seq")
    assert events[-1].type == DeploymentEventType.CONCLUDED and events[-1].conclusion == "FAILED"
    assert mine not in fake.containers and previous in fake.containers
    assert set(fake.volumes) == {"previous-data"} and "lost-new-data" in row.error["message"]
    # The lost run is fenced off: its attempt can no longer write.
    with pytest.raises(TransitionRefused):
        await append_logs(running.id, [LogEntry("late")], attempt=1)

    queued_row = await Deployment.get(id=claimed_only.id)
    assert (queued_row.status, queued_row.error["code"], queued_row.error["step"]) == (S.FAILED, "RUNNER_LOST", None)
    queued_steps = await DeploymentStep.filter(deployment_id=claimed_only.id)
    assert {s.status for s in queued_steps} == {StepStatus.SKIPPED}
    # A live lease is left alone.
    assert (await Deployment.get(id=alive.id)).status == S.PREPARE


async def test_reclaim_waits_for_an_unreachable_server_then_gives_up(db) -> None:
    server = await make_server(docker_host="unix:///nonexistent.sock")
    lost = await lost_deployment(server, S.PREPARE)
    runner = Runner(settings(lease_seconds=5), fake_execute, engine_factory=fake_engines(FakeDocker()))
    assert await runner.reclaim() == []  # lapsed a moment ago: the server may come back
    assert (await Deployment.get(id=lost.id)).status == S.PREPARE
    await Deployment.filter(id=lost.id).update(lease_expires_at=now() - timedelta(hours=1))
    assert await runner.reclaim() == [lost.id]
    row = await Deployment.get(id=lost.id)
    assert row.error["code"] == "RUNNER_LOST" and "did not answer" in row.error["message"]


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_on_sqlite_a_start_reclaims_claims_of_the_previous_process(db, runners) -> None:
    lost = await lost_deployment(await make_server(), S.PREPARE, lapsed=False)
    await started(runners, Runner(settings(), fake_execute, engine_factory=fake_engines(FakeDocker())))
    assert (await Deployment.get(id=lost.id)).error["code"] == "RUNNER_LOST"


@pytest.mark.parametrize("database", ["postgres"], indirect=True)
async def test_on_postgres_a_start_leaves_live_claims_of_other_runners(db, runners) -> None:
    alive = await lost_deployment(await make_server(), S.PREPARE, lapsed=False)
    await started(runners, Runner(settings(), fake_execute, engine_factory=fake_engines(FakeDocker())))
    assert (await Deployment.get(id=alive.id)).status == S.PREPARE


# ----------------------------------------------------------------------------- stopping


async def test_stop_lets_a_deployment_finish_within_the_grace_period(db) -> None:
    gate = Gate()
    runner = Runner(settings(), gate)
    await runner.start()
    first = await queue(await make_service(await make_server()))
    runner.wake()
    await poll(lambda: _true(first.id in gate.entered), 10, "the deployment to start")
    stopping = asyncio.create_task(runner.stop(grace=30))
    await poll(lambda: _true(not runner.healthy()), 5, "the runner to stop claiming")
    later = await queue(await make_service(await make_server()))
    runner.wake()
    gate.open.set()
    await asyncio.wait_for(stopping, 10)
    assert (await Deployment.get(id=first.id)).status == S.FAILED  # the gate's own conclusion
    assert gate.cancelled == []
    untouched = await Deployment.get(id=later.id)
    assert (untouched.status, untouched.claimed_by, untouched.attempt) == (S.QUEUED, None, 0)


async def test_stop_past_the_grace_period_leaves_the_deployment_for_reclaim(db) -> None:
    gate = Gate()
    fake = FakeDocker()
    runner = Runner(settings(), gate, engine_factory=fake_engines(fake))
    await runner.start()
    deployment = await queue(await make_service(await make_server()))
    runner.wake()
    await poll(lambda: _true(deployment.id in gate.entered), 10, "the deployment to start")
    await asyncio.wait_for(runner.stop(grace=0.2), 10)
    assert gate.cancelled == [deployment.id]
    left = await Deployment.get(id=deployment.id)
    assert left.status == S.PREPARE and left.claimed_by == runner.id
    assert left.lease_expires_at is not None and left.lease_expires_at <= now()  # handed back at once
    successor = Runner(settings(), gate, engine_factory=fake_engines(fake))
    assert await successor.reclaim() == [deployment.id]
    assert (await Deployment.get(id=deployment.id)).error["code"] == "RUNNER_LOST"


async def test_a_claim_that_never_started_goes_back_to_the_queue_on_stop(db) -> None:
    entered = asyncio.Event()

    async def stalls(deployment_id: int, attempt: int, settings: Settings) -> None:
        entered.set()
        await asyncio.Event().wait()  # never gets to its first move

    runner = Runner(settings(), stalls)
    await runner.start()
    deployment = await queue(await make_service(await make_server()))
    runner.wake()
    await asyncio.wait_for(entered.wait(), 10)
    await asyncio.wait_for(runner.stop(grace=0.1), 10)
    back = await Deployment.get(id=deployment.id)
    assert (back.status, back.claimed_by, back.lease_expires_at, back.attempt) == (S.QUEUED, None, None, 1)
    claim = await claim_next("next:1:x", 30)
    assert claim is not None and (claim.deployment_id, claim.attempt) == (deployment.id, 2)


# ----------------------------------------------------------------------------- processes


@pytest.mark.parametrize("database", ["postgres"], indirect=True)
async def test_two_runner_processes_share_the_queue(db, tmp_path: Path) -> None:
    """20 deployments queued across 4 services while two runner processes work: each that
    was not superseded runs exactly once (attempt 1), in order per service, within the
    server's limit; the superseded ones are SKIPPED and never ran."""
    server = await make_server(max_concurrent_deployments=3)
    services = [await make_service(server) for _ in range(4)]
    env = {"BERTH_FAKE_STEP_SECONDS": "0.1", "BERTH_LEASE_SECONDS": "5", "BERTH_HEARTBEAT_SECONDS": "1"}
    processes = [RunnerProcess(db.url, tmp_path / f"runner-{i}.log", env) for i in range(2)]
    try:
        for process in processes:
            process.start()
        ids = []
        for round_ in range(5):
            for service in services:
                ids.append((await queue(service)).id)
            await asyncio.sleep(0.15 * round_)  # paced arrivals: some run, some are superseded
        rows = await poll(lambda: concluded(ids), 60, "all 20 deployments to conclude", interval=0.2)
    finally:
        for process in processes:
            process.stop()
    logs = "\n".join(process.log() for process in processes)
    ran, skipped = [], []
    for row in rows:
        if row.conclusion == DeploymentConclusion.SUCCEEDED:
            ran.append(row)
            assert row.attempt == 1, logs
            assert await status_moves(row.id) == ["PREPARE", "DEPLOY", "FINALIZE", "COMPLETED"]
            assert len(await ran_lines(row.id)) == 1, "a deployment ran twice"
        else:
            assert row.conclusion == DeploymentConclusion.SKIPPED, (row.id, row.conclusion, row.error, logs)
            skipped.append(row)
            # Superseded while waiting; possibly just claimed, but never started.
            assert row.started_at is None and await ran_lines(row.id) == []
            assert await status_moves(row.id) == ["COMPLETED"]
    for service in services:
        mine = [row for row in rows if row.service_id == service.id]  # type: ignore[attr-defined]
        assert mine[-1].conclusion == DeploymentConclusion.SUCCEEDED  # the newest is never superseded
        executed = [row for row in mine if row in ran]
        by_start = sorted(executed, key=lambda row: row.started_at)
        assert [row.number for row in by_start] == sorted(row.number for row in executed)
        for earlier, later in zip(by_start, by_start[1:], strict=False):
            assert earlier.concluded_at <= later.started_at
    moments = sorted([(row.started_at, 1) for row in ran] + [(row.concluded_at, -1) for row in ran],
                     key=lambda item: (item[0], item[1]))
    running = peak = 0
    for _, delta in moments:
        running += delta
        peak = max(peak, running)
    assert peak <= 3
    assert len(ran) + len(skipped) == 20 and len(ran) >= 4


def test_berth_runner_refuses_sqlite(tmp_path: Path) -> None:
    env = {**os.environ, "BERTH_DATABASE_URL": f"sqlite://{tmp_path / 'db.sqlite3'}",
           "BERTH_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "berth", "runner"], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 3
    assert result.stderr.strip().splitlines()[-1].startswith("berth: `berth runner` needs PostgreSQL")


def test_readyz_includes_the_runner_heartbeat(live_server: LiveServer) -> None:
    body = httpx.get(live_server.url + "/readyz", timeout=10).json()
    assert body == {"status": "ready", "checks": {"database": "ok", "runner": "ok"}}


@pytest.mark.parametrize("database", ["postgres"], indirect=True)
def test_api_only_processes_have_no_runner_check(database, tmp_path: Path) -> None:
    env = server_env(database.url, database.data_dir)
    with running_server(tmp_path / "api.log", env, args=["--no-runner"]) as server:
        body = httpx.get(server.url + "/readyz", timeout=10).json()
        assert body["checks"] == {"database": "ok"}
