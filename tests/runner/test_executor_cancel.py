"""Canceling a running deployment in CLONE, BUILD, PULL and HEALTH: it concludes
FAILED/CANCELED within 5 s of the request, nothing it started is left, and the previous
version serves (started again when it had been stopped for a fixed host port).

Local clones and pulls are too fast to cancel, so those go through slow servers
(tests/runner/throttle.py): git over dumb HTTP with a delay per request, and a proxy in
front of the registry that holds every chunk of the answer.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from berth.domain.specs import HealthCheckSpec, SourceSpec
from berth.models import Deployment, Service
from berth.models.enums import DeploymentConclusion, DeploymentStatus, StepKind
from tests.docker_fixtures import GIT_VERSION, REGISTRY, BusyboxImage, GitRepo, app_page
from tests.runner.conftest import postgres_only
from tests.runner.executor_support import Harness, http_get
from tests.runner.test_executor_image import assert_succeeded
from tests.runner.throttle import SlowGitServer, throttled_registry
from tests.support.live_server import free_port

CANCEL_WITHIN_SECONDS = 5.0
ORDER = ["CLONE", "BUILD", "PULL", "VOLUME", "START", "HEALTH", "FINALIZE"]


async def deploy_and_cancel(harness: Harness, service: Service, step: StepKind, after: float = 0.5,
                            **start: Any) -> Deployment:
    queued = await harness.queue(service, **start)
    running = asyncio.create_task(harness.execute(queued.id))
    try:
        requested = await harness.cancel_when(queued.id, step, after=after)
        deployment = await asyncio.wait_for(running, timeout=30)
    finally:
        if not running.done():
            running.cancel()
    took = time.monotonic() - requested
    assert took < CANCEL_WITHIN_SECONDS, f"concluded {took:.1f} s after the cancel request"
    assert (deployment.status, deployment.conclusion) == (DeploymentStatus.FAILED, DeploymentConclusion.CANCELED)
    assert deployment.error["code"] == "CANCELED" and deployment.error["step"] == str(step), deployment.error
    statuses = await harness.step_statuses(deployment.id)
    assert statuses[str(step)] == "CANCELED"
    assert all(statuses[later] == "SKIPPED" for later in ORDER[ORDER.index(str(step)) + 1:]), statuses
    assert deployment.cancel_requested_at is not None
    assert harness.deployment_containers(deployment) == []
    return deployment


@postgres_only
async def test_cancel_during_clone(harness: Harness, git_repo: GitRepo, busybox_image: BusyboxImage) -> None:
    service = await harness.service(SourceSpec(type="DOCKERFILE", repository=git_repo.url, branch="main",
                                               ports=["127.0.0.1::8080"]))
    assert_succeeded(await harness.deploy(service))
    slow = SlowGitServer(git_repo.path, delay=1.0).start()
    try:
        # http:// is not accepted through the API; the row is changed directly, as the
        # point here is a clone that takes its time.
        await Service.filter(id=service.id).update(source={**service.source, "repository": slow.url})
        await deploy_and_cancel(harness, service, StepKind.CLONE, after=1.5)
        assert slow.requests >= 1
    finally:
        slow.stop()
    assert harness.serving(service) == app_page(GIT_VERSION)
    leftovers = list((harness.settings.data_dir / "work").glob("*"))
    assert leftovers == [], "the clone's directory is removed"


@postgres_only
async def test_cancel_during_build(harness: Harness, git_repo: GitRepo, busybox_image: BusyboxImage) -> None:
    service = await harness.service(SourceSpec(type="DOCKERFILE", repository=git_repo.url, branch="main",
                                               ports=["127.0.0.1::8080"]))
    assert_succeeded(await harness.deploy(service))
    dockerfile = git_repo.git("--git-dir", git_repo.path, "show", "main:Dockerfile")
    git_repo.commit({"Dockerfile": dockerfile + '\nRUN ["/bin/sleep", "120"]\n'}, "a slow build")
    deployment = await deploy_and_cancel(harness, service, StepKind.BUILD, after=2.0)
    texts = [line.text for line in await harness.logs(deployment.id)]
    assert any("/bin/sleep" in text for text in texts)  # the build had got there
    assert harness.serving(service) == app_page(GIT_VERSION)
    sleeping = [c for c in harness.client.api.containers(all=True) if "/bin/sleep 120" in c.get("Command", "")]
    assert sleeping == [], "the build's container is removed"


@postgres_only
async def test_cancel_during_pull(harness: Harness, busybox_image: BusyboxImage) -> None:
    service = await harness.service(SourceSpec(type="IMAGE", image=busybox_image.ref("v1"),
                                               ports=["127.0.0.1::8080"]))
    assert_succeeded(await harness.deploy(service))
    with throttled_registry(REGISTRY, delay=20.0) as proxy:
        await harness.update(service, source=SourceSpec(
            type="IMAGE", image=f"127.0.0.1:{proxy.port}/berth-test/app:v2", ports=["127.0.0.1::8080"]))
        deployment = await deploy_and_cancel(harness, service, StepKind.PULL, after=1.0)
        assert proxy.connections >= 1
    assert deployment.frozen_input["imageDigest"] is None
    assert harness.serving(service) == busybox_image.page("v1")


@postgres_only
async def test_cancel_during_health_starts_the_stopped_previous_container(
    harness: Harness, busybox_image: BusyboxImage
) -> None:
    port = free_port()
    ports = [f"127.0.0.1:{port}:8080"]
    service = await harness.service(SourceSpec(type="IMAGE", image=busybox_image.ref("v1"), ports=ports))
    first = await harness.deploy(service)
    assert_succeeded(first)
    # A check that never passes (404), with all the time in the world: only the cancel ends it.
    await harness.update(service, health_check=HealthCheckSpec(kind="HTTP", port=8080, path="/missing",
                                                               timeout_seconds=120, interval_seconds=1))
    deployment = await deploy_and_cancel(harness, service, StepKind.HEALTH, after=1.5, image_tag="v2")
    assert "previous container" in deployment.error["message"]
    assert http_get(f"http://127.0.0.1:{port}/")[1] == busybox_image.page("v1")
    [running] = harness.containers(service)
    assert running.labels["io.berth.deployment-id"] == str(first.id)
