"""COMPOSE deployments end to end (real compose CLI): inline content and files from a
repository, the rendered files in the frozen input, secrets only in compose's environment,
and `up -d` with the previous files when a deployment fails."""

from __future__ import annotations

from berth.domain.specs import EnvVarSpec, SourceSpec
from berth.models import Deployment, Service
from berth.models.enums import LogStream
from tests.docker_fixtures import APP_PORT, BusyboxImage, GitRepo, compose_yaml
from tests.runner.conftest import postgres_only, sqlite_only
from tests.runner.executor_support import Harness, human_name
from tests.runner.test_executor_image import assert_failed_at, assert_succeeded

INLINE_STEPS = {"CLONE": "SKIPPED", "BUILD": "SKIPPED", "PULL": "SUCCEEDED", "VOLUME": "SUCCEEDED",
                "START": "SUCCEEDED", "HEALTH": "SUCCEEDED", "FINALIZE": "SUCCEEDED"}


def inline(busybox_image: BusyboxImage, command: str | None = None) -> str:
    """The test app as one compose service, its tag overridable with BERTH_IMAGE_TAG, and a
    named volume; `command` replaces the image's (compose needs `$$` for a literal `$`)."""
    content = f"""\
services:
  web:
    image: {busybox_image.repo}:${{BERTH_IMAGE_TAG:-v1}}
    ports:
      - "127.0.0.1::{APP_PORT}"
    environment:
      TOKEN: "${{API_TOKEN}}"
    volumes:
      - data:/data
    healthcheck:
      test: ["CMD", "/bin/wget", "-q", "-O-", "http://127.0.0.1:{APP_PORT}/"]
      interval: 1s
      timeout: 3s
      retries: 3
"""
    if command:
        content += f"    command: {command}\n"
    return content + "volumes:\n  data: {}\n"


SECRET = "c0mp0se-s3cret"
ECHO_AND_SERVE = ('["/bin/sh", "-c", "echo token=$$TOKEN; trap \'exit 0\' TERM; '
                  f'httpd -f -p {APP_PORT} -h /www & wait"]')


@postgres_only
async def test_inline_compose_deploys_overrides_the_tag_and_rolls_back_with_the_previous_files(
    harness: Harness, busybox_image: BusyboxImage
) -> None:
    content = inline(busybox_image, ECHO_AND_SERVE)
    service = await harness.service(SourceSpec(type="COMPOSE", compose_content=content),
                                    env=[EnvVarSpec(key="API_TOKEN", value=SECRET, secret=True)])
    first = await harness.deploy(service)
    assert_succeeded(first)
    assert await harness.step_statuses(first.id) == INLINE_STEPS
    project = f"berth-{(await harness.project()).name}-production-{service.name}"
    assert first.frozen_input["composeProject"] == project
    assert first.frozen_input["composeFiles"] == [{"path": "compose.yaml", "content": content}]
    assert first.frozen_input["composeImages"] == {"web": busybox_image.digest("v1")}
    assert harness.serving(service) == busybox_image.page("v1")
    [container] = harness.containers(service)
    assert container.labels["com.docker.compose.project"] == project
    assert container.labels["io.berth.deployment-id"] == str(first.id)
    volume = harness.client.volumes.get(f"{project}_data")
    assert volume.attrs["Labels"]["com.docker.compose.project"] == project
    lines = await harness.logs(first.id)
    assert [line.seq for line in lines] == list(range(1, len(lines) + 1))
    assert any(line.stream == LogStream.STDOUT and line.text == "token=***" for line in lines)
    assert not any(SECRET in line.text for line in lines)
    assert SECRET not in repr(first.frozen_input)

    second = await harness.deploy(service, image_tag="v2")
    assert_succeeded(second)
    assert second.frozen_input["composeImages"] == {"web": busybox_image.digest("v2")}
    assert harness.serving(service) == busybox_image.page("v2")

    await a_broken_version_rolls_back_to(harness, busybox_image, service, second)


async def a_broken_version_rolls_back_to(harness: Harness, busybox_image: BusyboxImage, service: Service,
                                         previous: Deployment) -> Deployment:
    """Deploy a version whose container exits: HEALTH fails and compose brings the previous
    deployment's files back up (`previous` ran the v2 image). Returns the failed deployment."""
    await harness.update(service, source=SourceSpec(
        type="COMPOSE", compose_content=inline(busybox_image, '["/bin/sh", "-c", "echo broken; exit 4"]')))
    failed = await harness.deploy(service)
    message = await assert_failed_at(harness, failed, "HEALTH", "HEALTH_FAILED")
    assert "broken" in message and f"rolled back to deployment {await human_name(previous)}" in message
    # The previous files, with the image pinned to the digest that deployment ran.
    assert harness.serving(service) == busybox_image.page("v2")
    [container] = harness.containers(service)
    assert container.labels["io.berth.deployment-id"] == str(previous.id)
    assert container.attrs["Config"]["Image"] == busybox_image.digest("v2")
    return failed


@postgres_only
async def test_compose_files_from_the_repository(
    harness: Harness, git_repo: GitRepo, busybox_image: BusyboxImage
) -> None:
    service = await harness.service(SourceSpec(type="COMPOSE", repository=git_repo.url, branch="main",
                                               compose_files=["compose.yaml"]))
    deployment = await harness.deploy(service)
    assert_succeeded(deployment)
    statuses = await harness.step_statuses(deployment.id)
    assert statuses == {**INLINE_STEPS, "CLONE": "SUCCEEDED"}
    steps = await harness.steps(deployment.id)
    assert steps["BUILD"].detail == "no service is built here"
    assert deployment.frozen_input["commitSha"] == git_repo.head_sha()
    assert deployment.frozen_input["composeFiles"] == [
        {"path": "compose.yaml", "content": compose_yaml(busybox_image.ref("v1"))}]
    assert harness.serving(service) == busybox_image.page("v1")


@postgres_only
async def test_compose_file_with_a_privileged_service_is_refused_at_clone(
    harness: Harness, git_repo: GitRepo, busybox_image: BusyboxImage
) -> None:
    service = await harness.service(SourceSpec(type="COMPOSE", repository=git_repo.url, branch="main",
                                               compose_files=["compose.yaml"]))
    git_repo.commit({"compose.yaml": compose_yaml(busybox_image.ref("v1")) + "    privileged: true\n"},
                    "privileged")
    deployment = await harness.deploy(service)
    message = await assert_failed_at(harness, deployment, "CLONE", "CLONE_FAILED")
    assert "services.web.privileged" in message and "allowPrivileged" in message
    assert harness.containers(service, running_only=False) == []


@sqlite_only
async def test_compose_smoke_on_sqlite(harness: Harness, busybox_image: BusyboxImage) -> None:
    service = await harness.service(SourceSpec(type="COMPOSE", compose_content=inline(busybox_image)),
                                    env=[EnvVarSpec(key="API_TOKEN", value=SECRET, secret=True)])
    deployment = await harness.deploy(service)
    assert_succeeded(deployment)
    assert harness.serving(service) == busybox_image.page("v1")


ENV_COMPOSE = """\
services:
  web:
    image: {image}
    environment:
      MODE: from-the-file
      KEPT: file-only
      TOKEN: "${{API_TOKEN}}"
"""


async def assert_the_services_env_reaches_the_containers(harness: Harness, busybox_image: BusyboxImage) -> None:
    """`--env`/secrets of a COMPOSE service are its containers' environment, Berth's values over
    the file's for the same key, `$` literal; interpolation still sees them; no value stored."""
    content = ENV_COMPOSE.format(image=busybox_image.ref("v1"))
    env = [EnvVarSpec(key="MODE", value="from-berth"), EnvVarSpec(key="PLAIN", value="plain value"),
           EnvVarSpec(key="DOLLAR", value="a$b${c}"),
           EnvVarSpec(key="API_TOKEN", value=SECRET, secret=True)]
    service = await harness.service(SourceSpec(type="COMPOSE", compose_content=content), env=env)
    deployment = await harness.deploy(service)
    assert_succeeded(deployment)
    [container] = harness.containers(service)
    seen = dict(item.split("=", 1) for item in container.attrs["Config"]["Env"])
    assert seen["MODE"] == "from-berth" and seen["PLAIN"] == "plain value" and seen["DOLLAR"] == "a$b${c}"
    assert seen["API_TOKEN"] == SECRET and seen["TOKEN"] == SECRET and seen["KEPT"] == "file-only"
    assert SECRET not in repr(deployment.frozen_input)
    assert not any(SECRET in line.text for line in await harness.logs(deployment.id))


@sqlite_only
async def test_the_services_env_reaches_the_compose_containers(harness: Harness, busybox_image: BusyboxImage) -> None:
    await assert_the_services_env_reaches_the_containers(harness, busybox_image)
