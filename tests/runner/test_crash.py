"""Crash safety and shutdown of runner processes (CONTRACT §3): `kill -9` mid-deployment,
SIGTERM with and without the grace period running out. PostgreSQL: `berth runner` needs it."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from berth.domain.specs import HealthCheckSpec
from berth.models import Deployment, DeploymentStep
from berth.models.enums import DeploymentConclusion, DeploymentStatus, StepKind, StepStatus
from berth.runner.labels import DEPLOYMENT, SERVICE
from tests.docker_fixtures import APP_PORT, BusyboxImage
from tests.runner.runner_support import (
    RunnerProcess,
    concluded,
    make_server,
    make_service,
    queue,
    ran_lines,
    spread_ids,
)
from tests.services import DOCKER_HOST
from tests.support.polling import poll

pytestmark = pytest.mark.parametrize("database", ["postgres"], indirect=True)

S = DeploymentStatus
SHORT_LEASE = {"BERTH_LEASE_SECONDS": "2", "BERTH_HEARTBEAT_SECONDS": "0.5", "BERTH_STABLE_SECONDS": "1"}


@pytest.fixture
def processes() -> Iterator[list[RunnerProcess]]:
    started: list[RunnerProcess] = []
    yield started
    for process in started:
        process.stop()


@pytest.fixture
def service_containers(docker_client: docker.DockerClient) -> Iterator[list[int]]:
    """Service ids whose labelled containers are removed at the end (ids are spread)."""
    services: list[int] = []
    yield services
    for service_id in services:
        for container in docker_client.containers.list(all=True, filters={"label": f"{SERVICE}={service_id}"}):
            container.remove(force=True)


def labelled(docker_client: docker.DockerClient, deployment_id: int) -> list[str]:
    containers = docker_client.containers.list(all=True, filters={"label": f"{DEPLOYMENT}={deployment_id}"})
    return [c.name for c in containers]


async def test_kill_9_mid_deployment_is_reclaimed_as_runner_lost(
    db, tmp_path: Path, busybox_image: BusyboxImage, docker_client, processes, service_containers,
) -> None:
    """A runner killed while the real executor waits in HEALTH (its check never passes):
    the next runner concludes that deployment FAILED/RUNNER_LOST, removes its container,
    and the queue goes on."""
    await spread_ids()
    server = await make_server(docker_host=DOCKER_HOST)
    volume = f"berth-crash-{uuid.uuid4().hex[:12]}"
    stuck = await make_service(server, image=busybox_image.ref("v1"), volumes=[f"{volume}:/data"],
                               health_check=HealthCheckSpec(kind="HTTP", port=APP_PORT, path="/never-there",
                                                            timeout_seconds=600, interval_seconds=1))
    healthy = await make_service(server, image=busybox_image.ref("v1"))
    service_containers.extend([stuck.id, healthy.id])
    env = {**SHORT_LEASE, "BERTH_TEST_EXECUTOR": "real"}
    first = RunnerProcess(db.url, tmp_path / "first.log", env)
    processes.append(first.start())
    lost = await queue(stuck)

    async def in_health() -> bool:
        step = await DeploymentStep.get(deployment_id=lost.id, kind=StepKind.HEALTH)
        return step.status == StepStatus.RUNNING and bool(labelled(docker_client, lost.id))

    await poll(in_health, 60, "the deployment to reach HEALTH with its container", interval=0.2)
    first.signal(signal.SIGKILL)
    first.wait(10)
    assert labelled(docker_client, lost.id), "the killed runner's container should still be there"
    waiting = await queue(healthy)  # the server runs one at a time: this waits for the lost one

    second = RunnerProcess(db.url, tmp_path / "second.log", env)
    processes.append(second.start())
    [row] = await poll(lambda: concluded([lost.id]), 30, "the lost deployment to be reclaimed")
    assert (row.status, row.conclusion) == (S.FAILED, DeploymentConclusion.FAILED), second.log()
    assert row.error["code"] == "RUNNER_LOST" and row.error["step"] == "HEALTH"
    assert row.attempt == 2  # the reclaimer's attempt fenced the lost one off
    steps = {s.kind: s.status for s in await DeploymentStep.filter(deployment_id=lost.id)}
    assert steps[StepKind.HEALTH] == StepStatus.FAILED and steps[StepKind.FINALIZE] == StepStatus.SKIPPED
    assert labelled(docker_client, lost.id) == []
    with pytest.raises(docker.errors.NotFound):  # the volume it created went with it
        docker_client.volumes.get(volume)
    assert volume in row.error["message"]
    [after] = await poll(lambda: concluded([waiting.id]), 90, "the next deployment", interval=0.2)
    assert after.conclusion == DeploymentConclusion.SUCCEEDED and after.attempt == 1, (after.error, second.log())


async def test_sigterm_lets_the_running_deployment_finish(db, tmp_path: Path, processes) -> None:
    release = tmp_path / "release"
    runner = RunnerProcess(db.url, tmp_path / "runner.log", {"BERTH_SHUTDOWN_GRACE_SECONDS": "30"})
    processes.append(runner.start())
    deployment = await queue(await make_service(await make_server()), reason=f"hold:{release}")
    await poll(lambda: ran_lines(deployment.id), 20, "the deployment to start")
    runner.signal(signal.SIGTERM)
    await poll(lambda: _logged(runner, "stopping the runner"), 10, "the runner to take the signal")
    assert runner.alive()
    release.touch()
    assert runner.wait(15) == 0
    row = await Deployment.get(id=deployment.id)
    assert row.conclusion == DeploymentConclusion.SUCCEEDED and row.attempt == 1


async def test_sigterm_stops_claiming_and_leaves_an_overdue_deployment_for_reclaim(
    db, tmp_path: Path, processes,
) -> None:
    server = await make_server(max_concurrent_deployments=2)
    grace = 1.5
    env = {"BERTH_SHUTDOWN_GRACE_SECONDS": str(grace), "BERTH_LEASE_SECONDS": "10", "BERTH_HEARTBEAT_SECONDS": "1"}
    runner = RunnerProcess(db.url, tmp_path / "runner.log", env)
    processes.append(runner.start())
    held = await queue(await make_service(server), reason=f"hold:{tmp_path / 'never'}")
    await poll(lambda: ran_lines(held.id), 20, "the deployment to start")
    runner.signal(signal.SIGTERM)
    signalled = time.monotonic()
    await poll(lambda: _logged(runner, "stopping the runner"), 10, "the runner to take the signal")
    later = await queue(await make_service(server))  # claimable, but the runner is stopping
    assert runner.wait(grace + 10) == 0
    assert time.monotonic() - signalled < grace + 5
    assert "leaving it to be reclaimed" in runner.log()
    untouched = await Deployment.get(id=later.id)
    assert (untouched.status, untouched.claimed_by, untouched.attempt) == (S.QUEUED, None, 0)
    left = await Deployment.get(id=held.id)
    assert left.status == S.PREPARE and left.conclusion is None

    # The next runner reclaims it at once (the stopping runner expired its lease) and runs the other.
    successor = RunnerProcess(db.url, tmp_path / "successor.log", env)
    processes.append(successor.start())
    rows = await poll(lambda: concluded([held.id, later.id]), 30, "both deployments to conclude")
    by_id = {row.id: row for row in rows}
    assert by_id[held.id].error["code"] == "RUNNER_LOST"
    assert by_id[later.id].conclusion == DeploymentConclusion.SUCCEEDED and by_id[later.id].attempt == 1


async def _logged(process: RunnerProcess, text: str) -> bool:
    return text in process.log()
