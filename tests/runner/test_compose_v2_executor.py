"""A COMPOSE deployment end to end with the runner on `docker compose` (the v2+ plugin).

The runner detects its compose in the child environment, which passes DOCKER_CONFIG on
from ours: pointing it at the test plugin's config dir is all it takes for the runner to
run `docker compose` instead of `docker-compose` (v1, what is on PATH). The other
executor tests cover v1 (tests/runner/test_executor_compose.py).
"""

from __future__ import annotations

import pytest

from berth.domain.specs import EnvVarSpec, SourceSpec
from berth.models.enums import LogStream, StepKind
from berth.runner.compose_cli import detect_compose_command
from tests.docker_fixtures import BusyboxImage
from tests.runner.conftest import postgres_only
from tests.runner.executor_support import Harness
from tests.runner.test_executor_compose import (
    ECHO_AND_SERVE,
    INLINE_STEPS,
    SECRET,
    a_broken_version_rolls_back_to,
    assert_the_services_env_reaches_the_containers,
    inline,
)
from tests.runner.test_executor_image import assert_succeeded
from tests.services import COMPOSE_V2_CONFIG, DOCKER_HOST, compose_v2_available, skip_or_fail

V2 = ["docker", "compose"]


@pytest.fixture
async def compose_v2(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner's compose is `docker compose` for this test."""
    reason = compose_v2_available()
    if reason:
        skip_or_fail(reason)
    monkeypatch.setenv("DOCKER_CONFIG", str(COMPOSE_V2_CONFIG))
    assert await detect_compose_command({"DOCKER_HOST": DOCKER_HOST}) == V2


@postgres_only
async def test_inline_compose_with_compose_v2_deploys_and_rolls_back(
    compose_v2: None, harness: Harness, busybox_image: BusyboxImage
) -> None:
    content = inline(busybox_image, ECHO_AND_SERVE)
    service = await harness.service(SourceSpec(type="COMPOSE", compose_content=content),
                                    env=[EnvVarSpec(key="API_TOKEN", value=SECRET, secret=True)])
    first = await harness.deploy(service)
    assert_succeeded(first)
    assert await harness.step_statuses(first.id) == INLINE_STEPS
    project = f"berth-{(await harness.project()).name}-production-{service.name}"
    assert harness.serving(service) == busybox_image.page("v1")

    # What ran was v2+: the runner logs the command it runs, and v2 names containers
    # PROJECT-SERVICE-N where v1 named them PROJECT_SERVICE_N.
    lines = await harness.logs(first.id)
    commands = [(line.step, line.text) for line in lines if line.stream == LogStream.SYSTEM
                and line.text.startswith(("docker compose ", "docker-compose "))]
    assert (StepKind.PULL, f"docker compose -p {project} pull web") in commands
    assert (StepKind.START, f"docker compose -p {project} up -d --remove-orphans") in commands
    assert all(text.startswith("docker compose ") for _, text in commands), commands
    [container] = harness.containers(service)
    assert container.name == f"{project}-web-1"
    assert container.labels["com.docker.compose.project"] == project
    assert container.labels["io.berth.deployment-id"] == str(first.id)
    assert "token=***" in [line.text for line in lines if line.stream == LogStream.STDOUT]
    assert not any(SECRET in line.text for line in lines)
    assert not any("obsolete" in line.text for line in lines)
    # The volume the VOLUME step made beforehand was adopted without complaint.
    assert not any("already exists but was not created" in line.text for line in lines)
    volume = harness.client.volumes.get(f"{project}_data")
    assert volume.attrs["Labels"]["com.docker.compose.project"] == project

    second = await harness.deploy(service, image_tag="v2")
    assert_succeeded(second)
    assert harness.serving(service) == busybox_image.page("v2")

    # A broken deployment: compose brings the previous files back up (`up -d`, v2 again).
    failed = await a_broken_version_rolls_back_to(harness, busybox_image, service, second)
    rollback = [line.text for line in await harness.logs(failed.id) if line.step == StepKind.HEALTH
                and line.stream == LogStream.SYSTEM and f" -p {project} " in line.text]
    assert rollback == [f"docker compose -p {project} up -d --remove-orphans"]


@postgres_only
async def test_the_services_env_reaches_the_containers_with_compose_v2(
    compose_v2: None, harness: Harness, busybox_image: BusyboxImage
) -> None:
    await assert_the_services_env_reaches_the_containers(harness, busybox_image)
