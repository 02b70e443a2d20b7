"""What a canceled or failed deployment leaves behind on the real daemon: nothing it created.

Containers are covered by the cancel and failure tests; here, the named volumes: the
ones this deployment created go, the ones it found already there (made by an earlier
deployment, maybe holding data) stay.
"""

from __future__ import annotations

import docker.errors

from berth.domain.specs import HealthCheckSpec, SourceSpec
from berth.models.enums import StepKind
from berth.runner.labels import DEPLOYMENT
from tests.docker_fixtures import BusyboxImage
from tests.runner.conftest import postgres_only
from tests.runner.executor_support import Harness
from tests.runner.test_executor_cancel import deploy_and_cancel
from tests.runner.test_executor_compose import inline
from tests.runner.test_executor_image import assert_failed_at, assert_succeeded


def volume_labels(harness: Harness, name: str) -> dict[str, str] | None:
    """The volume's labels, None when it is not there."""
    try:
        return dict(harness.client.volumes.get(name).attrs.get("Labels") or {})
    except docker.errors.NotFound:
        return None


@postgres_only
async def test_cancel_removes_the_volumes_it_created_and_keeps_the_ones_it_found(
    harness: Harness, busybox_image: BusyboxImage
) -> None:
    data, cache = f"{harness.token}-data", f"{harness.token}-cache"
    service = await harness.service(SourceSpec(type="IMAGE", image=busybox_image.ref("v1"),
                                               ports=["127.0.0.1::8080"], volumes=[f"{data}:/data"]))
    first = await harness.deploy(service)
    assert_succeeded(first)
    assert (volume_labels(harness, data) or {}).get(DEPLOYMENT) == str(first.id)

    await harness.update(
        service,
        source=SourceSpec(type="IMAGE", image=busybox_image.ref("v1"), ports=["127.0.0.1::8080"],
                          volumes=[f"{data}:/data", f"{cache}:/cache"]),
        health_check=HealthCheckSpec(kind="HTTP", port=8080, path="/missing", timeout_seconds=120,
                                     interval_seconds=1),
    )
    canceled = await deploy_and_cancel(harness, service, StepKind.HEALTH, after=1.5, image_tag="v2")
    assert volume_labels(harness, cache) is None
    assert (volume_labels(harness, data) or {}).get(DEPLOYMENT) == str(first.id)
    texts = [line.text for line in await harness.logs(canceled.id)]
    assert f"removed volume {cache} created by this deployment" in texts
    assert harness.serving(service) == busybox_image.page("v1")


@postgres_only
async def test_a_failure_without_auto_rollback_removes_the_volumes_it_created(
    harness: Harness, busybox_image: BusyboxImage
) -> None:
    scratch = f"{harness.token}-scratch"
    service = await harness.service(
        SourceSpec(type="IMAGE", image=busybox_image.ref("v1"), ports=["127.0.0.1::8080"],
                   volumes=[f"{scratch}:/scratch"], command=["/bin/sh", "-c", "echo starting; exit 3"]),
        auto_rollback=False,
    )
    failed = await harness.deploy(service)
    await assert_failed_at(harness, failed, "HEALTH", "HEALTH_FAILED")
    assert volume_labels(harness, scratch) is None
    assert harness.containers(service, running_only=False) == []


@postgres_only
async def test_a_failed_compose_deployment_removes_the_volumes_it_created(
    harness: Harness, busybox_image: BusyboxImage
) -> None:
    # The first deployment of the service: nothing to roll back to, so `down`, and the
    # volume compose declared and VOLUME created goes too.
    command = '["/bin/sh", "-c", "echo broken; exit 3"]'
    service = await harness.service(SourceSpec(type="COMPOSE", compose_content=inline(busybox_image, command)))
    failed = await harness.deploy(service)
    await assert_failed_at(harness, failed, "HEALTH", "HEALTH_FAILED")
    project = str(failed.frozen_input["composeProject"])
    assert volume_labels(harness, f"{project}_data") is None
    assert harness.containers(service, running_only=False) == []
    assert harness.client.networks.list(filters={"label": f"com.docker.compose.project={project}"}) == []
    # Compose's own project label is also on it, so it was compose's volume as much as ours.
    texts = [line.text for line in await harness.logs(failed.id)]
    assert f"removed volume {project}_data created by this deployment" in texts
