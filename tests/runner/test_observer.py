"""The observer (CONTRACT §4, lastObservedState): IN_SYNC / DRIFTED / MISSING / UNKNOWN
against the last successful frozen input, on the real daemon, and server bookkeeping."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

import docker
import pytest

from berth.models import Deployment, Observation, Server, Service
from berth.models.enums import DeploymentConclusion, DeploymentStatus, DriftStatus, PreviewStatus
from berth.models.git import PreviewEnvironment
from berth.models.lifecycle import apply_change, now
from berth.runner.docker_api import ContainerInfo, ContainerSpec, DockerApi
from berth.runner.docker_fake import FakeDocker
from berth.runner.engines import open_engine
from berth.runner.labels import deployment_labels, load_installation
from berth.runner.loop import Runner
from berth.runner.observer import KEEP_OBSERVATIONS, ObservedContainer, Observer, compare, prune
from berth.settings import Settings, get_settings
from tests.docker_fixtures import BusyboxImage
from tests.models.factories import make_deployment
from tests.runner.runner_support import (
    TEST_LABEL,
    concluded,
    make_server,
    make_service,
    queue,
    spread_ids,
    succeed,
)
from tests.services import DOCKER_HOST
from tests.support.polling import poll

OBSERVED_LABEL = "berth.test.observer"


def settings(**changes: Any) -> Settings:
    return dataclasses.replace(get_settings(), **{"observer_interval_seconds": 30.0, "stable_seconds": 1.0,
                                                  "lease_seconds": 10.0, "heartbeat_seconds": 1.0,
                                                  "runner_poll_seconds": 0.1, **changes})


@pytest.fixture
def cleanup(docker_client: docker.DockerClient) -> Iterator[list[int]]:
    """Service ids whose labelled containers are removed at the end (ids are spread, so
    these are this test's own)."""
    services: list[int] = []
    yield services
    for service_id in services:
        for container in docker_client.containers.list(all=True, filters={"label": f"io.berth.service-id={service_id}"}):
            container.remove(force=True)


async def run_labelled(server: Server, deployment: Deployment, image: str) -> str:
    engine = await open_engine(server)
    try:
        labels = deployment_labels(service_id=deployment.service_id, environment_id=deployment.environment_id,  # type: ignore[attr-defined]
                                   project_id=deployment.project_id, deployment_id=deployment.id, attempt=1)  # type: ignore[attr-defined]
        return await engine.run_container(ContainerSpec(
            name=f"berth-rt-obs-{uuid.uuid4().hex[:8]}", image=image,
            labels={**labels, TEST_LABEL: "1", OBSERVED_LABEL: "1"}, restart_policy="no"))
    finally:
        await engine.close()


@pytest.mark.parametrize("database", ["postgres"], indirect=True)
async def test_observer_on_the_real_daemon(db, busybox_image: BusyboxImage, docker_client, cleanup) -> None:
    await spread_ids()
    server = await make_server(docker_host=DOCKER_HOST)
    service = await make_service(server, image=busybox_image.ref("v1"))
    cleanup.append(service.id)
    observer = Observer(settings())
    v1, v2 = busybox_image.digest("v1"), busybox_image.digest("v2")
    deployment = await succeed((await queue(service)).id, imageDigest=v1)

    # Nothing running yet for a deployed service: MISSING.
    missing = await observer.observe_service(service.id)
    assert missing is not None and missing.drift == DriftStatus.MISSING

    container_id = await run_labelled(server, deployment, busybox_image.ref("v1"))
    in_sync = await observer.observe_service(service.id)
    assert in_sync is not None
    assert in_sync.drift == DriftStatus.IN_SYNC, in_sync.differences
    assert in_sync.compared_with_id == deployment.id  # type: ignore[attr-defined]
    [seen] = in_sync.containers
    assert seen["imageDigest"] == v1 and seen["state"] == "running"
    assert seen["deploymentId"] == str(deployment.id) and seen["startedAt"]
    checked = await Server.get(id=server.id)
    assert checked.reachable is True and checked.docker_version and checked.last_checked_at is not None

    # Removed by hand: MISSING.
    docker_client.containers.get(container_id).remove(force=True)
    gone = await observer.observe_service(service.id)
    assert gone is not None and gone.drift == DriftStatus.MISSING and gone.containers == []

    # Another image under its labels: DRIFTED, naming the digest.
    await run_labelled(server, deployment, busybox_image.ref("v2"))
    drifted = await observer.observe_service(service.id)
    assert drifted is not None and drifted.drift == DriftStatus.DRIFTED
    assert drifted.differences == [{"field": "imageDigest", "expected": v1, "actual": v2}]

    # A new deployment, run for real by the runner, brings it back IN_SYNC: the executor
    # retires the stray container and the runner observes the service afterwards.
    runner = Runner(settings(), after_deployment=observer.observe_service)
    await runner.start()
    try:
        fresh = await queue(service)
        runner.wake()
        [done] = await poll(lambda: concluded([fresh.id]), 90, "the new deployment", interval=0.2)
        assert done.conclusion == DeploymentConclusion.SUCCEEDED, done.error

        async def newest_in_sync() -> Observation | None:
            latest = await Observation.filter(service_id=service.id).order_by("-observed_at", "-id").first()
            return latest if latest and latest.compared_with_id == fresh.id else None  # type: ignore[attr-defined]

        latest = await poll(newest_in_sync, 20, "the observation after the deployment")
        assert latest.drift == DriftStatus.IN_SYNC, latest.differences
        assert [c["deploymentId"] for c in latest.containers] == [str(fresh.id)]
    finally:
        await runner.stop(grace=5)


async def test_an_unreachable_server_is_unknown(db) -> None:
    server = await make_server(docker_host="unix:///nonexistent.sock")
    service = await make_service(server)
    await succeed((await queue(service)).id, imageDigest="example/app@sha256:" + "a" * 64)
    never_deployed = await make_service(server)
    observations = await Observer(settings()).observe_server(server)
    assert [o.service_id for o in observations] == [service.id]  # type: ignore[attr-defined]
    assert observations[0].drift == DriftStatus.UNKNOWN
    checked = await Server.get(id=server.id)
    assert checked.reachable is False and checked.last_checked_at is not None
    assert not await Observation.filter(service_id=never_deployed.id).exists()


# ----------------------------------------------------------------------------- with the fake daemon


def fake_engines(fake: FakeDocker) -> Callable[[Server], Awaitable[DockerApi]]:
    async def factory(server: Server) -> DockerApi:
        return fake

    return factory


async def test_periodic_pass_claims_each_server_once_and_skips_busy_services(db) -> None:
    fake = FakeDocker()
    image = fake.add_local_image("example/app:1")
    server = await make_server()
    calm, busy = await make_service(server), await make_service(server)
    calm_done = await succeed((await queue(calm)).id, imageDigest=image.repo_digests[0])
    await fake.run_container(ContainerSpec(name="calm", image="example/app:1", labels=deployment_labels(
        service_id=calm.id, environment_id=calm.environment_id, project_id=calm.project_id,  # type: ignore[attr-defined]
        deployment_id=calm_done.id, attempt=1)))
    await succeed((await queue(busy)).id)
    running = await queue(busy)
    await apply_change(running.id, from_status=DeploymentStatus.QUEUED, to_status=DeploymentStatus.PREPARE)
    first, second = Observer(settings(), fake_engines(fake)), Observer(settings(), fake_engines(fake))
    observed = await first.observe_all()
    assert [(o.service_id, o.drift) for o in observed] == [(calm.id, DriftStatus.IN_SYNC)]  # type: ignore[attr-defined]
    assert (await Server.get(id=server.id)).docker_version == "20.10.0-fake"
    assert await second.observe_all() == []  # checked within the interval by another observer
    await Server.filter(id=server.id).update(last_checked_at=now() - timedelta(minutes=5))
    assert len(await second.observe_all()) == 1


async def test_previews_are_not_the_service_and_are_torn_down_by_the_pass(db) -> None:
    await load_installation()  # as the runner does at start: every label below carries it
    fake = FakeDocker()
    image = fake.add_local_image("example/app:1")
    server = await make_server()
    service = await make_service(server)
    done = await succeed((await queue(service)).id, imageDigest=image.repo_digests[0])
    ids = {"service_id": service.id, "environment_id": service.environment_id,  # type: ignore[attr-defined]
           "project_id": service.project_id}  # type: ignore[attr-defined]
    await fake.run_container(ContainerSpec(name="prod", image="example/app:1",
                                           labels=deployment_labels(deployment_id=done.id, attempt=1, **ids)))
    moment = now()
    preview = await PreviewEnvironment.create(service_id=service.id, pull_request=4, head_ref="f", head_sha="a" * 40,
                                              base_ref="main", created_at=moment, updated_at=moment)
    previewed = await make_deployment(await Service.get(id=service.id), preview_id=preview.id)
    # Newer than production's and SUCCEEDED: still never production's baseline.
    await Deployment.filter(id=previewed.id).update(status=DeploymentStatus.COMPLETED,
                                                    conclusion=DeploymentConclusion.SUCCEEDED, concluded_at=now())
    preview_labels = deployment_labels(deployment_id=previewed.id, attempt=1, preview_id=preview.id, **ids)
    await fake.run_container(ContainerSpec(name="pr4", image="example/app:1", labels=preview_labels))
    await fake.create_volume("data-preview", labels=preview_labels)
    observer = Observer(settings(), fake_engines(fake))
    [observation] = await observer.observe_all()
    # One container, production's, compared with production's deployment (not the preview's).
    assert observation.drift == DriftStatus.IN_SYNC and observation.compared_with_id == done.id  # type: ignore[attr-defined]
    assert [c["name"] for c in observation.containers] == ["prod"]

    await PreviewEnvironment.filter(id=preview.id).update(status=PreviewStatus.CLOSED, closed_at=now())
    await Server.filter(id=server.id).update(last_checked_at=now() - timedelta(minutes=5))
    await observer.observe_all()
    assert (await PreviewEnvironment.get(id=preview.id)).status is PreviewStatus.CLEANED
    assert sorted(c.name for c in fake.containers.values()) == ["prod"] and list(fake.volumes) == []


def container(name: str, *, deployment: int, state: str = "running", health: str | None = None,
              image_id: str = "sha256:img", compose_service: str | None = None,
              digests: tuple[str, ...] = ("example/app@sha256:aaa",)) -> ObservedContainer:
    labels = {"io.berth.deployment-id": str(deployment)}
    if compose_service:
        labels["com.docker.compose.service"] = compose_service
    info = ContainerInfo(id=name, name=name, image="example/app:1", image_id=image_id, state=state, health=health,
                         exit_code=0, restart_count=0, ip_address=None, labels=labels)
    return ObservedContainer(info, digests)


def test_compare_names_each_difference() -> None:
    frozen = {"sourceType": "IMAGE", "image": "example/app:1", "imageDigest": "example/app@sha256:aaa"}
    assert compare(frozen, 7, [container("a", deployment=7)]).drift == DriftStatus.IN_SYNC
    # A stopped leftover of an older deployment is listed but not compared.
    verdict = compare(frozen, 7, [container("a", deployment=7), container("old", deployment=6, state="exited")])
    assert verdict.drift == DriftStatus.IN_SYNC and len(verdict.containers) == 2
    verdict = compare(frozen, 7, [container("a", deployment=7, state="exited", health="unhealthy"),
                                  container("b", deployment=7, digests=("example/app@sha256:bbb",))])
    assert verdict.drift == DriftStatus.DRIFTED
    assert verdict.differences == [
        {"field": "containerCount", "expected": "1", "actual": "2"},
        {"field": "state", "expected": "running", "actual": "exited"},
        {"field": "health", "expected": "healthy", "actual": "unhealthy"},
        {"field": "imageDigest", "expected": "example/app@sha256:aaa", "actual": "example/app@sha256:bbb"},
    ]
    assert compare(frozen, 7, [container("old", deployment=6, state="exited")]).drift == DriftStatus.MISSING
    # No resolved digest: the image id, else the reference.
    by_id = {"sourceType": "DOCKERFILE", "image": "berth/app:abc", "imageId": "sha256:built"}
    assert compare(by_id, 7, [container("a", deployment=7)]).differences == [
        {"field": "imageId", "expected": "sha256:built", "actual": "sha256:img"}]


def test_compare_compose_counts_services_and_checks_pins() -> None:
    content = ("services:\n  web:\n    image: example/app:1\n  worker:\n    image: example/app:1\n"
               "    deploy:\n      replicas: 2\n  debug:\n    image: example/app:1\n    profiles: [debug]\n")
    frozen = {"sourceType": "COMPOSE", "composeFiles": [{"path": "compose.yaml", "content": content}],
              "composeProfiles": [], "composeImages": {"web": "example/app@sha256:aaa"}}
    healthy = [container("w", deployment=3, compose_service="web"),
               container("k1", deployment=3, compose_service="worker"),
               container("k2", deployment=3, compose_service="worker")]
    assert compare(frozen, 3, healthy).drift == DriftStatus.IN_SYNC
    drifted = compare(frozen, 3, [container("w", deployment=3, compose_service="web",
                                            digests=("example/app@sha256:ccc",))])
    assert drifted.differences == [
        {"field": "containerCount", "expected": "3", "actual": "1"},
        {"field": "web.imageDigest", "expected": "example/app@sha256:aaa", "actual": "example/app@sha256:ccc"},
    ]


async def test_old_observations_are_pruned(db) -> None:
    service: Service = await make_service(await make_server())
    start = now()
    await Observation.bulk_create([
        Observation(service_id=service.id, observed_at=start + timedelta(seconds=i), drift=DriftStatus.MISSING)
        for i in range(KEEP_OBSERVATIONS + 5)
    ])
    assert await prune(service.id) == 5
    oldest = await Observation.filter(service_id=service.id).order_by("observed_at").first()
    assert oldest is not None and oldest.observed_at == start + timedelta(seconds=5)
