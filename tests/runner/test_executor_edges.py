"""The executor's contract with the runner loop, against FakeDocker (no daemon needed): losing
the claim, shutdown, deadlines, a failed START, and what it tells `on_concluded`."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import time
from collections.abc import Awaitable, Callable
from urllib.parse import quote, quote_plus

import pytest

from berth.domain.rollback import rollback_deployment
from berth.domain.specs import RollbackSpec, SourceSpec
from berth.models import Deployment, Server
from berth.models.enums import DeploymentConclusion, DeploymentStatus, ErrorCode, StepKind
from berth.runner.docker_api import DockerApi, DockerOperationError
from berth.runner.docker_fake import FakeDocker
from berth.runner.executor import execute_deployment
from berth.runner.log_writer import SecretMasker
from berth.settings import StepDeadlines
from tests.runner.conftest import postgres_only
from tests.runner.executor_support import Harness, human_name, owner

IMAGE = "registry.example.test/team/app:1"


def engine(fake: FakeDocker) -> Callable[[Server], Awaitable[DockerApi]]:
    async def open_docker(server: Server) -> DockerApi:
        return fake

    return open_docker


async def wait_running(deployment_id: int, step: StepKind, harness: Harness, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while (await harness.step_statuses(deployment_id))[str(step)] != "RUNNING":
        assert time.monotonic() < deadline, f"{step} never ran"
        await asyncio.sleep(0.05)


async def started(harness: Harness, fake: FakeDocker) -> tuple[Deployment, asyncio.Task[Deployment]]:
    service = await harness.service(SourceSpec(type="IMAGE", image=IMAGE))
    queued = await harness.queue(service)
    task = asyncio.create_task(harness.execute(queued.id, open_docker=engine(fake)))
    await wait_running(queued.id, StepKind.PULL, harness)
    return queued, task


@postgres_only
async def test_losing_the_claim_stops_at_once_and_concludes_nothing(fake_harness: Harness) -> None:
    fake = FakeDocker()
    fake.add_remote_image(IMAGE, health="healthy")
    fake.delay("pull", 60)
    queued, task = await started(fake_harness, fake)
    # The reclaimer (or another runner) took it over: the fencing token moved on.
    await Deployment.filter(id=queued.id).update(attempt=2, claimed_by="someone-else")
    began = time.monotonic()
    deployment = await asyncio.wait_for(task, timeout=10)
    assert time.monotonic() - began < 3
    assert deployment.status == DeploymentStatus.PREPARE and deployment.conclusion is None
    assert not any(call[0] == "run_container" for call in fake.calls)


@postgres_only
async def test_shutdown_cancels_the_task_and_leaves_the_deployment_to_be_reclaimed(fake_harness: Harness) -> None:
    fake = FakeDocker()
    fake.add_remote_image(IMAGE, health="healthy")
    fake.delay("pull", 60)
    queued, task = await started(fake_harness, fake)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    deployment = await Deployment.get(id=queued.id)
    assert deployment.status == DeploymentStatus.PREPARE and deployment.conclusion is None
    texts = [line.text for line in await fake_harness.logs(queued.id)]
    assert "pulling registry.example.test/team/app:1" in texts
    assert texts[-1] == "runner shutting down: the deployment is left to be reclaimed"


@postgres_only
async def test_a_step_past_its_deadline_fails_with_timeout(fake_harness: Harness) -> None:
    fake = FakeDocker()
    fake.add_remote_image(IMAGE, health="healthy")
    fake.delay("pull", 60)
    service = await fake_harness.service(SourceSpec(type="IMAGE", image=IMAGE))
    settings = dataclasses.replace(fake_harness.settings, step_deadlines=StepDeadlines(pull=1.0))
    queued = await fake_harness.queue(service)
    deployment = await fake_harness.execute(queued.id, settings, open_docker=engine(fake))
    assert (deployment.status, deployment.conclusion) == (DeploymentStatus.FAILED, DeploymentConclusion.FAILED)
    assert deployment.error["code"] == ErrorCode.TIMEOUT and deployment.error["step"] == "PULL"
    assert "timed out after 1 s" in deployment.error["message"]
    statuses = await fake_harness.step_statuses(deployment.id)
    assert statuses["PULL"] == "FAILED" and statuses["START"] == "SKIPPED"


@postgres_only
async def test_the_deployment_deadline_bounds_health(fake_harness: Harness) -> None:
    fake = FakeDocker()
    fake.add_remote_image(IMAGE, health="starting")  # never becomes healthy
    service = await fake_harness.service(SourceSpec(type="IMAGE", image=IMAGE))
    settings = dataclasses.replace(fake_harness.settings, step_deadlines=StepDeadlines(deployment=2.0))
    queued = await fake_harness.queue(service)
    began = time.monotonic()
    deployment = await fake_harness.execute(queued.id, settings, open_docker=engine(fake))
    assert time.monotonic() - began < 10
    assert deployment.error["code"] == ErrorCode.TIMEOUT and deployment.error["step"] == "HEALTH", deployment.error
    assert "deadline" in deployment.error["message"]
    assert [c for c in fake.containers.values() if c.state == "running"] == []


@postgres_only
async def test_failed_start_restarts_the_previous_container_stopped_for_a_fixed_port(
    fake_harness: Harness,
) -> None:
    fake = FakeDocker()
    fake.add_remote_image(IMAGE, health="healthy")
    service = await fake_harness.service(SourceSpec(type="IMAGE", image=IMAGE, ports=["8080:8080"]))
    observed: list[int] = []

    async def on_concluded(service_id: int) -> None:
        observed.append(service_id)

    first = await fake_harness.queue(service)
    await fake_harness.claim(first.id)
    await execute_deployment(first.id, 1, fake_harness.settings, on_concluded, open_docker=engine(fake))
    assert (await Deployment.get(id=first.id)).conclusion == DeploymentConclusion.SUCCEEDED
    assert observed == [service.id]

    fake.fail("run_container", DockerOperationError("run container: port is already allocated"))
    second = await fake_harness.queue(service)
    deployment = await fake_harness.execute(second.id, open_docker=engine(fake))
    assert deployment.error["code"] == ErrorCode.START_FAILED and deployment.error["step"] == "START"
    assert "port is already allocated" in deployment.error["message"]
    assert f"rolled back to deployment {await human_name(first)}" in deployment.error["message"]
    [running] = [c for c in fake.containers.values() if c.state == "running"]
    assert running.labels["io.berth.deployment-id"] == str(first.id)
    assert ("stop_container", running.id) in fake.calls


def test_masking_covers_every_line_of_a_multiline_secret_and_ignores_tiny_ones() -> None:
    mask = SecretMasker(["-----BEGIN KEY-----\nabcdef123456\n-----END KEY-----", "ab", "tok3n", ""])
    assert mask("key abcdef123456 here") == "key *** here"
    assert mask("x=tok3n;y=tok3n-tok3n") == "x=***;y=***-***"
    assert mask("ab stays") == "ab stays"


def test_masking_covers_url_encoded_and_base64_spellings_at_every_offset() -> None:
    secret = "s3cr3t-Value/+="
    mask = SecretMasker([secret])
    assert mask(f"https://u:{quote(secret, safe='')}@h/") == "https://u:***@h/"
    assert mask("q=" + quote_plus(secret)) == "q=***"
    for prefix in ("", "u:", "us:", "use:"):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            spelled = encode(f"{prefix}{secret}".encode() + b"-tail").decode()
            masked = mask(spelled)
            assert "***" in masked and spelled not in masked, (prefix, spelled, masked)
    # Unrelated base64 and short secrets' encodings stay readable.
    assert mask(base64.b64encode(b"nothing secret here").decode()) == base64.b64encode(b"nothing secret here").decode()
    assert SecretMasker(["abc"])("YWJj and abc") == "YWJj and ***"


async def test_log_lines_name_deployments_by_place_not_row_id(fake_harness: Harness) -> None:
    fake = FakeDocker()
    fake.add_remote_image(IMAGE, health="healthy")
    # Another service's deployments first, so row ids and numbers differ.
    other = await fake_harness.service(SourceSpec(type="IMAGE", image=IMAGE))
    for _ in range(2):
        await fake_harness.execute((await fake_harness.queue(other)).id, open_docker=engine(fake))
    service = await fake_harness.service(SourceSpec(type="IMAGE", image=IMAGE))
    first = await fake_harness.execute((await fake_harness.queue(service)).id, open_docker=engine(fake))
    fake.add_remote_image(IMAGE.replace(":1", ":2"), health="healthy")
    second = await fake_harness.execute(
        (await fake_harness.queue(service, image_tag="2")).id, open_docker=engine(fake)
    )
    assert second.conclusion == DeploymentConclusion.SUCCEEDED and first.id != first.number
    queued = await rollback_deployment(owner(), RollbackSpec(service_id=service.id, to_deployment_id=first.id))
    replay = await fake_harness.execute(queued.id, open_docker=engine(fake))
    assert replay.conclusion == DeploymentConclusion.SUCCEEDED
    texts = [line.text for line in await fake_harness.logs(replay.id)]
    assert f"deployment {await human_name(replay)} (IMAGE {IMAGE}) to server" in texts[0]
    assert f"rollback: replaying the frozen input of deployment {await human_name(first)}" in texts
    bare = [f"deployment {pk}" for pk in (first.id, replay.id)]
    assert not [text for text in texts if any(text.endswith(b) or f"{b} " in text for b in bare)]
