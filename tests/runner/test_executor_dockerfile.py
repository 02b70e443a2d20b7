"""DOCKERFILE deployments end to end: clone (real git), build (real daemon), run; failures at
CLONE and BUILD; a rollback replays the recorded commit after the branch moved on."""

from __future__ import annotations

from typing import Any

from berth.domain.specs import HealthCheckSpec, SourceSpec
from berth.models.enums import DeploymentConclusion
from tests.docker_fixtures import GIT_VERSION, BusyboxImage, GitRepo, app_page
from tests.runner.conftest import postgres_only, sqlite_only
from tests.runner.executor_support import Harness
from tests.runner.test_executor_image import assert_failed_at, assert_succeeded

DOCKERFILE_STEPS = {"CLONE": "SUCCEEDED", "BUILD": "SUCCEEDED", "PULL": "SKIPPED", "VOLUME": "SUCCEEDED",
                    "START": "SUCCEEDED", "HEALTH": "SUCCEEDED", "FINALIZE": "SUCCEEDED"}


def from_repo(url: str, **source: Any) -> SourceSpec:
    return SourceSpec(type="DOCKERFILE", repository=url, branch="main", ports=["127.0.0.1::8080"], **source)


@postgres_only
async def test_dockerfile_builds_the_commit_and_serves_it(
    harness: Harness, git_repo: GitRepo, busybox_image: BusyboxImage
) -> None:
    service = await harness.service(from_repo(git_repo.url), health=HealthCheckSpec(kind="HTTP", port=8080))
    sha = git_repo.head_sha()
    deployment = await harness.deploy(service)
    assert_succeeded(deployment)
    assert await harness.step_statuses(deployment.id) == DOCKERFILE_STEPS
    steps = await harness.steps(deployment.id)
    assert steps["CLONE"].detail == f"commit {sha} (branch main)"
    assert deployment.frozen_input["commitSha"] == deployment.input["commitSha"] == sha
    tag = f"berth/{(await harness.project()).name}-production-{service.name}:{sha[:12]}"
    assert deployment.frozen_input["image"] == tag
    image = harness.client.images.get(tag)
    assert deployment.frozen_input["imageId"] == deployment.input["imageId"] == image.id
    assert image.labels["io.berth.deployment-id"] == str(deployment.id)
    assert image.labels["io.berth.commit-sha"] == sha
    assert harness.serving(service) == app_page(GIT_VERSION)
    texts = [line.text for line in await harness.logs(deployment.id)]
    assert any(text.startswith("git clone file://") for text in texts)
    assert any("Step 1/" in text for text in texts)  # the build's own output


@sqlite_only
async def test_dockerfile_smoke_on_sqlite(harness: Harness, git_repo: GitRepo, busybox_image: BusyboxImage) -> None:
    service = await harness.service(from_repo(git_repo.url))
    deployment = await harness.deploy(service)
    assert_succeeded(deployment)
    assert await harness.step_statuses(deployment.id) == DOCKERFILE_STEPS
    assert harness.serving(service) == app_page(GIT_VERSION)


@postgres_only
async def test_unreachable_repository_fails_at_clone(
    harness: Harness, busybox_image: BusyboxImage, tmp_path: Any
) -> None:
    service = await harness.service(from_repo((tmp_path / "nowhere.git").as_uri()))
    deployment = await harness.deploy(service)
    message = await assert_failed_at(harness, deployment, "CLONE", "CLONE_FAILED")
    assert "cannot clone file://" in message and "nowhere.git" in message
    assert "fatal:" in message


@postgres_only
async def test_broken_dockerfile_fails_at_build_and_the_previous_version_keeps_serving(
    harness: Harness, git_repo: GitRepo, busybox_image: BusyboxImage
) -> None:
    service = await harness.service(from_repo(git_repo.url))
    assert_succeeded(await harness.deploy(service))
    git_repo.commit({"Dockerfile": "FROM scratch\nCOPY no-such-file /\n"}, "broken")
    deployment = await harness.deploy(service)
    message = await assert_failed_at(harness, deployment, "BUILD", "BUILD_FAILED")
    assert "no-such-file" in message
    assert harness.serving(service) == app_page(GIT_VERSION)
    texts = [line.text for line in await harness.logs(deployment.id)]
    assert any("COPY no-such-file" in text for text in texts)


@postgres_only
async def test_rollback_replays_the_commit_after_the_branch_moved(
    harness: Harness, git_repo: GitRepo, busybox_image: BusyboxImage
) -> None:
    service = await harness.service(from_repo(git_repo.url))
    first = await harness.deploy(service)
    assert_succeeded(first)
    git_repo.set_version("git-v2")
    second = await harness.deploy(service)
    assert_succeeded(second)
    assert harness.serving(service) == app_page("git-v2")

    # The first build is gone from the server: the rollback clones its commit and rebuilds it.
    harness.client.images.remove(first.frozen_input["image"], force=True)
    replay = await harness.rollback(service)
    assert_succeeded(replay)
    assert replay.rollback_of_id == first.id  # type: ignore[attr-defined]
    assert replay.frozen_input["commitSha"] == first.frozen_input["commitSha"] != second.frozen_input["commitSha"]
    steps = await harness.steps(replay.id)
    assert steps["CLONE"].detail == f"commit {first.frozen_input['commitSha']}"
    assert str(steps["BUILD"].status) == "SUCCEEDED"
    assert harness.serving(service) == app_page(GIT_VERSION)

    # The second build is still here: replaying it needs neither clone nor build.
    again = await harness.rollback(service, to=second)
    assert_succeeded(again)
    statuses = await harness.step_statuses(again.id)
    assert (statuses["CLONE"], statuses["BUILD"]) == ("SKIPPED", "SKIPPED")
    assert "still on the server" in (await harness.steps(again.id))["CLONE"].detail  # type: ignore[operator]
    assert again.frozen_input["imageId"] == second.frozen_input["imageId"]
    assert harness.serving(service) == app_page("git-v2")
    assert again.conclusion == DeploymentConclusion.SUCCEEDED
