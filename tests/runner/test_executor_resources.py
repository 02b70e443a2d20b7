"""Resources on real Docker: the limits and restart policy of IMAGE, DOCKERFILE and COMPOSE
containers as `docker inspect` shows them, replayed by a rollback, and the observer's drift
when a live container's limits are changed by hand (`docker update`)."""

from __future__ import annotations

import asyncio
from typing import Any

import docker
import pytest

from berth.domain.specs import ResourcesSpec, SourceSpec
from berth.models import Service
from berth.models.enums import DriftStatus
from berth.runner.observer import Observer
from berth.settings import get_settings
from tests.docker_fixtures import BusyboxImage, GitRepo
from tests.runner.conftest import postgres_only, sqlite_only
from tests.runner.executor_support import Harness
from tests.runner.test_compose_v2_executor import compose_v2  # noqa: F401 (a fixture)
from tests.runner.test_executor_compose import inline
from tests.runner.test_executor_dockerfile import from_repo
from tests.runner.test_executor_image import app, assert_succeeded

LIMITED = ResourcesSpec(memory_mb=64, cpus=0.5, pids_limit=100, restart_policy="on-failure:3")
MIB = 1024 * 1024


def host_config(harness: Harness, service: Service) -> dict[str, Any]:
    [container] = harness.containers(service)
    container.reload()
    return dict(container.attrs["HostConfig"])


def assert_limited(config: dict[str, Any]) -> None:
    assert config["Memory"] == 64 * MIB
    assert config["NanoCpus"] == 500_000_000
    assert config["PidsLimit"] == 100
    assert config["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}


@postgres_only
async def test_image_limits_are_applied_replayed_and_their_drift_observed(
    harness: Harness, busybox_image: BusyboxImage, docker_client: docker.DockerClient
) -> None:
    service = await harness.service(app(busybox_image.ref("v1")), resources=LIMITED)
    first = await harness.deploy(service)
    assert_succeeded(first)
    assert first.frozen_input["resources"] == {"memoryMb": 64, "cpus": 0.5, "pidsLimit": 100,
                                               "restartPolicy": "on-failure:3"}
    assert_limited(host_config(harness, service))

    observer = Observer(get_settings())
    in_sync = await observer.observe_service(service.id)
    assert in_sync is not None and in_sync.drift == DriftStatus.IN_SYNC, in_sync.differences

    [container] = harness.containers(service)
    await asyncio.to_thread(container.update, mem_limit="128m", memswap_limit="256m")
    drifted = await observer.observe_service(service.id)
    assert drifted is not None and drifted.drift == DriftStatus.DRIFTED
    assert drifted.differences == [{"field": "resources.memoryMb", "expected": "64", "actual": "128"}]

    # New resources apply to the next deployment; a rollback replays the old ones exactly.
    service = await harness.update(service, resources=ResourcesSpec(memory_mb=32))
    second = await harness.deploy(service)
    assert_succeeded(second)
    config = host_config(harness, service)
    assert (config["Memory"], config["NanoCpus"], config["RestartPolicy"]["Name"]) == (32 * MIB, 0,
                                                                                     "unless-stopped")
    back = await harness.rollback(service, to=first)
    assert_succeeded(back)
    assert_limited(host_config(harness, service))


@postgres_only
async def test_dockerfile_container_gets_the_limits(
    harness: Harness, git_repo: GitRepo, busybox_image: BusyboxImage
) -> None:
    service = await harness.service(from_repo(git_repo.url), resources=LIMITED)
    deployment = await harness.deploy(service)
    assert_succeeded(deployment)
    assert_limited(host_config(harness, service))


async def assert_compose_limits(harness: Harness, busybox_image: BusyboxImage) -> None:
    # The file sets its own memory limit and restart policy: the service's resources win.
    content = inline(busybox_image).replace("    volumes:\n      - data:/data\n",
                                            "    mem_limit: 200m\n    restart: always\n"
                                            "    volumes:\n      - data:/data\n", 1)
    service = await harness.service(SourceSpec(type="COMPOSE", compose_content=content), resources=LIMITED)
    deployment = await harness.deploy(service)
    assert_succeeded(deployment)
    assert_limited(host_config(harness, service))
    observer = Observer(get_settings())
    observed = await observer.observe_service(service.id)
    assert observed is not None and observed.drift == DriftStatus.IN_SYNC, observed.differences


@sqlite_only
async def test_compose_v1_services_get_the_limits_over_the_files_own(
    harness: Harness, busybox_image: BusyboxImage
) -> None:
    await assert_compose_limits(harness, busybox_image)


@postgres_only
@pytest.mark.usefixtures("compose_v2")
async def test_compose_v2_services_get_the_limits_over_the_files_own(
    harness: Harness, busybox_image: BusyboxImage
) -> None:
    await assert_compose_limits(harness, busybox_image)


@sqlite_only
async def test_default_resources_are_unless_stopped_without_limits(
    harness: Harness, busybox_image: BusyboxImage
) -> None:
    service = await harness.service(app(busybox_image.ref("v1")))
    deployment = await harness.deploy(service)
    assert_succeeded(deployment)
    config = host_config(harness, service)
    assert (config["Memory"], config["NanoCpus"], config["RestartPolicy"]["Name"]) == (0, 0, "unless-stopped")
    assert config["PidsLimit"] in (None, 0, -1)
