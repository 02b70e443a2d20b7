"""Housekeeping around deployments on the real daemon: FINALIZE keeps only the newest
5 built images of a DOCKERFILE service (enough to roll back without a rebuild),
and a volume that cannot be provided fails the deployment at VOLUME."""

from __future__ import annotations

import contextlib

import docker.errors

from berth.domain.specs import SourceSpec
from berth.models import Deployment, Service
from berth.runner.labels import INSTALLATION, SERVICE
from tests.docker_fixtures import GIT_VERSION, BusyboxImage, GitRepo, app_page
from tests.runner.conftest import postgres_only
from tests.runner.executor_support import COMPOSE_PROJECT, Harness
from tests.runner.test_executor_compose import inline
from tests.runner.test_executor_dockerfile import DOCKERFILE_STEPS, from_repo
from tests.runner.test_executor_image import assert_failed_at, assert_succeeded

KEPT = 5  # CONTRACT §3, FINALIZE: "keep the last 5 images for rollback"
BUILDS = KEPT + 2  # two deployments past the limit: pruning goes on, not just once


def built_image_ids(harness: Harness, service: Service, installation: str) -> set[str]:
    """Ids of the images on the daemon that Berth built for `service`, found by their labels
    (so an image that lost its tag but stayed on the daemon still counts)."""
    labels = [f"{SERVICE}={service.id}", f"{INSTALLATION}={installation}"]
    return {image["Id"] for image in harness.client.api.images(filters={"label": labels})}


def image_present(harness: Harness, image_id: str) -> bool:
    try:
        harness.client.api.inspect_image(image_id)
    except docker.errors.ImageNotFound:
        return False
    return True


def image_of(deployment: Deployment) -> str:
    return str(deployment.frozen_input["imageId"])


@postgres_only
async def test_finalize_keeps_the_newest_built_images_and_a_kept_one_rolls_back_without_a_build(
    harness: Harness, git_repo: GitRepo, busybox_image: BusyboxImage
) -> None:
    service = await harness.service(from_repo(git_repo.url))
    repository = f"berth/{(await harness.project()).name}-production-{service.name}"
    deployments: list[Deployment] = []
    versions: list[str] = []
    installation = ""
    try:
        for number in range(1, BUILDS + 1):
            version = GIT_VERSION if number == 1 else f"git-v{number}"
            if number > 1:
                git_repo.set_version(version)
            deployment = await harness.deploy(service)
            assert_succeeded(deployment)
            assert await harness.step_statuses(deployment.id) == DOCKERFILE_STEPS
            assert harness.serving(service) == app_page(version)
            sha = deployment.frozen_input["commitSha"]
            assert sha == git_repo.head_sha()
            assert deployment.frozen_input["image"] == f"{repository}:{sha[:12]}"
            assert image_of(deployment) not in map(image_of, deployments), "the build made no new image"
            deployments.append(deployment)
            versions.append(version)
            if not installation:
                installation = harness.client.api.inspect_image(image_of(deployment))["Config"]["Labels"][INSTALLATION]

            # After every deployment: exactly the newest KEPT builds, the older ones gone.
            kept, gone = deployments[-KEPT:], deployments[:-KEPT]
            assert built_image_ids(harness, service, installation) == set(map(image_of, kept))
            assert [image for image in map(image_of, gone) if image_present(harness, image)] == []
            tags = {tag for image in harness.client.api.images(name=repository) for tag in image["RepoTags"] or []}
            assert tags == {d.frozen_input["image"] for d in kept}

            detail = (await harness.steps(deployment.id))["FINALIZE"].detail or ""
            texts = [line.text for line in await harness.logs(deployment.id)]
            if gone:
                # One new build per deployment past the limit: the oldest of the previous ones goes.
                assert "pruned 1 old image" in detail, detail
                assert f"removed old image {image_of(gone[-1])}" in texts
            else:
                assert "pruned" not in detail, detail
                assert not any(text.startswith("removed old image") for text in texts)

        # The running deployment's image is among the kept ones.
        [container] = harness.containers(service)
        assert container.labels["io.berth.deployment-id"] == str(deployments[-1].id)
        assert container.image.id == image_of(deployments[-1])
        assert container.image.id in built_image_ids(harness, service, installation)

        # What the kept images are for: the oldest kept build rolls back with neither clone nor
        # build, and running it (the oldest image, now in use) prunes nothing.
        oldest_kept = deployments[-KEPT]
        replay = await harness.rollback(service, to=oldest_kept)
        assert_succeeded(replay)
        statuses = await harness.step_statuses(replay.id)
        assert (statuses["CLONE"], statuses["BUILD"]) == ("SKIPPED", "SKIPPED"), statuses
        assert image_of(replay) == image_of(oldest_kept)
        assert harness.serving(service) == app_page(versions[-KEPT])
        [container] = harness.containers(service)
        assert container.image.id == image_of(oldest_kept)
        assert built_image_ids(harness, service, installation) == set(map(image_of, deployments[-KEPT:]))
    finally:
        # The harness removes images by tag; one that lost its tag would keep only its labels.
        if installation:
            for image_id in built_image_ids(harness, service, installation):
                with contextlib.suppress(docker.errors.APIError):
                    harness.client.api.remove_image(image_id, force=True)


@postgres_only
async def test_missing_external_volume_fails_at_volume(harness: Harness, busybox_image: BusyboxImage) -> None:
    volume = f"{harness.token}-missing"
    declared = "volumes:\n  data: {}\n"
    content = inline(busybox_image)
    assert content.endswith(declared)
    content = content.removesuffix(declared) + f"volumes:\n  data:\n    external: true\n    name: {volume}\n"
    service = await harness.service(SourceSpec(type="COMPOSE", compose_content=content))
    deployment = await harness.deploy(service)

    message = await assert_failed_at(harness, deployment, "VOLUME", "VOLUME_FAILED")
    assert message == f"external volume {volume} does not exist on the server"
    assert await harness.step_statuses(deployment.id) == {
        "CLONE": "SKIPPED", "BUILD": "SKIPPED", "PULL": "SUCCEEDED", "VOLUME": "FAILED",
        "START": "SKIPPED", "HEALTH": "SKIPPED", "FINALIZE": "SKIPPED"}
    assert (await harness.steps(deployment.id))["VOLUME"].detail == message
    lines = await harness.logs(deployment.id)
    assert any(str(line.step) == "VOLUME" and volume in line.text for line in lines)
    assert not any(str(line.step) in ("START", "HEALTH", "FINALIZE") for line in lines)

    # Nothing of the service runs or was made: no container (compose was never asked to bring
    # the project up) and no volume by that name.
    assert harness.containers(service, running_only=False) == []
    project = f"berth-{(await harness.project()).name}-production-{service.name}"
    assert harness.client.api.containers(all=True, filters={"label": f"{COMPOSE_PROJECT}={project}"}) == []
    assert harness.client.api.volumes(filters={"name": volume}).get("Volumes") in (None, [])
