"""IMAGE deployments end to end on the real daemon: the steps and the record, logs, failures
at PULL and HEALTH with and without autoRollback."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from berth.domain.specs import EnvVarSpec, HealthCheckSpec, SourceSpec
from berth.models import Deployment
from berth.models.enums import DeploymentConclusion, DeploymentStatus, LogStream
from tests.docker_fixtures import BusyboxImage
from tests.runner.conftest import postgres_only, sqlite_only
from tests.runner.executor_support import Harness, http_get, human_name
from tests.support.live_server import free_port

IMAGE_STEPS = {"CLONE": "SKIPPED", "BUILD": "SKIPPED", "PULL": "SUCCEEDED", "VOLUME": "SUCCEEDED",
               "START": "SUCCEEDED", "HEALTH": "SUCCEEDED", "FINALIZE": "SUCCEEDED"}
SERVE = "trap 'exit 0' TERM; httpd -f -p {port} -h /www & wait"


def app(image: str, ports: list[str] | None = None, **source: Any) -> SourceSpec:
    return SourceSpec(type="IMAGE", image=image, ports=ports or ["127.0.0.1::8080"], **source)


def shell(script: str) -> list[str]:
    return ["/bin/sh", "-c", script]


def assert_succeeded(deployment: Deployment) -> None:
    assert (deployment.status, deployment.conclusion) == (
        DeploymentStatus.COMPLETED, DeploymentConclusion.SUCCEEDED), deployment.error


async def assert_failed_at(harness: Harness, deployment: Deployment, step: str, code: str) -> str:
    assert (deployment.status, deployment.conclusion) == (DeploymentStatus.FAILED, DeploymentConclusion.FAILED)
    assert deployment.error["step"] == step and deployment.error["code"] == code, deployment.error
    statuses = await harness.step_statuses(deployment.id)
    assert statuses[step] == "FAILED"
    kinds = list(statuses)
    order = ["CLONE", "BUILD", "PULL", "VOLUME", "START", "HEALTH", "FINALIZE"]
    for later in order[order.index(step) + 1:]:
        assert statuses[later] == "SKIPPED", statuses
    assert set(kinds) == set(order)
    events = await harness.events(deployment.id)
    assert str(events[-1].type) == "CONCLUDED" and events[-1].payload["error"] == deployment.error
    return str(deployment.error["message"])


@postgres_only
async def test_image_deploys_and_the_next_one_replaces_it(harness: Harness, busybox_image: BusyboxImage) -> None:
    secret = "s3cr3t-t0ken-value"
    service = await harness.service(
        app(busybox_image.ref("v1"), volumes=[f"{harness.token}-data:/data"],
            command=shell('echo "greeting=$GREETING token=$API_TOKEN"; ' + SERVE.format(port=8080))),
        env=[EnvVarSpec(key="GREETING", value="hello"), EnvVarSpec(key="API_TOKEN", value=secret, secret=True)],
        health=HealthCheckSpec(kind="HTTP", port=8080, path="/"),
    )
    first = await harness.deploy(service)
    assert_succeeded(first)
    assert await harness.step_statuses(first.id) == IMAGE_STEPS
    steps = await harness.steps(first.id)
    ordered = [steps[kind] for kind in ("PULL", "VOLUME", "START", "HEALTH", "FINALIZE")]
    times = [moment for step in ordered for moment in (step.started_at, step.completed_at)]
    assert None not in times and times == sorted(times)  # type: ignore[type-var]
    assert steps["PULL"].detail == busybox_image.digest("v1")
    assert steps["VOLUME"].detail == f"created {harness.token}-data"
    # The frozen input is completed with what was resolved, in both views.
    assert first.frozen_input["imageDigest"] == first.input["imageDigest"] == busybox_image.digest("v1")
    assert first.frozen_input["imageId"].startswith("sha256:")

    assert harness.serving(service) == busybox_image.page("v1")
    [container] = harness.containers(service)
    assert container.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert container.labels["io.berth.deployment-id"] == str(first.id)
    assert container.labels["io.berth.attempt"] == "1"
    assert container.labels["io.berth.service-id"] == str(service.id)
    assert harness.client.volumes.get(f"{harness.token}-data").attrs["Labels"]["io.berth.deployment-id"] == str(
        first.id)

    statuses = [str(e.status) for e in await harness.events(first.id) if str(e.type) == "STATUS_CHANGED"]
    assert statuses == ["PREPARE", "DEPLOY", "FINALIZE", "COMPLETED"]
    lines = await harness.logs(first.id)
    assert [line.seq for line in lines] == list(range(1, len(lines) + 1))
    texts = [line.text for line in lines]
    # The container's own output, the probes, the pull: all there, the secret masked.
    assert any(line.stream == LogStream.STDOUT and line.text == "greeting=hello token=***" for line in lines)
    assert any(text.startswith("probe GET http://127.0.0.1:") for text in texts)
    assert any(text.startswith("Digest: sha256:") for text in texts)
    assert not any(secret in text for text in texts)

    second = await harness.deploy(service, image_tag="v2")
    assert_succeeded(second)
    assert harness.serving(service) == busybox_image.page("v2")
    everything = harness.containers(service, running_only=False)
    assert [c.labels["io.berth.deployment-id"] for c in everything] == [str(second.id)]
    second_steps = await harness.steps(second.id)
    assert f"retired berth-{service.name}-{first.id}-1" in str(second_steps["FINALIZE"].detail)
    assert second_steps["VOLUME"].detail == f"reused {harness.token}-data"


@sqlite_only
async def test_image_smoke_on_sqlite(harness: Harness, busybox_image: BusyboxImage) -> None:
    service = await harness.service(app(busybox_image.ref("v1")))
    deployment = await harness.deploy(service)
    assert_succeeded(deployment)
    assert await harness.step_statuses(deployment.id) == IMAGE_STEPS
    assert harness.serving(service) == busybox_image.page("v1")


@postgres_only
async def test_unknown_image_fails_at_pull(harness: Harness, busybox_image: BusyboxImage) -> None:
    service = await harness.service(app(f"{busybox_image.repo}:no-such-tag"))
    deployment = await harness.deploy(service)
    message = await assert_failed_at(harness, deployment, "PULL", "PULL_FAILED")
    assert "no-such-tag" in message and "not found" in message.lower()
    assert (await harness.steps(deployment.id))["PULL"].detail
    assert harness.containers(service, running_only=False) == []


@postgres_only
async def test_a_container_printing_10000_lines_loses_none(harness: Harness, busybox_image: BusyboxImage) -> None:
    script = 'i=0; while [ $i -lt 10000 ]; do echo "line $i"; i=$((i+1)); done; ' + SERVE.format(port=8080)
    service = await harness.service(app(busybox_image.ref("v1"), command=shell(script)))
    deployment = await harness.deploy(service)
    assert_succeeded(deployment)
    lines = await harness.logs(deployment.id)
    assert [line.seq for line in lines] == list(range(1, len(lines) + 1))
    printed = [line.text for line in lines if line.stream == LogStream.STDOUT and line.text.startswith("line ")]
    assert printed == [f"line {i}" for i in range(10000)]


@postgres_only
async def test_a_burst_docker_has_not_sent_yet_at_conclusion_is_still_kept(
        harness: Harness, busybox_image: BusyboxImage) -> None:
    # `seq` writes 100,000 lines faster than the daemon streams them: when the deployment
    # concludes most are still unsent; the runner reads them before concluding.
    script = "seq 1 100000; " + SERVE.format(port=8080)
    service = await harness.service(app(busybox_image.ref("v1"), command=shell(script)))
    deployment = await harness.deploy(service)
    assert_succeeded(deployment)
    lines = await harness.logs(deployment.id)
    assert [line.seq for line in lines] == list(range(1, len(lines) + 1))
    printed = [line.text for line in lines if line.stream == LogStream.STDOUT and line.text.isdigit()]
    assert printed == [str(i) for i in range(1, 100001)]
    assert lines[-1].stream == LogStream.SYSTEM and lines[-1].text == "deployment succeeded"


@sqlite_only
async def test_a_secret_is_masked_in_every_spelling_the_container_prints(
        harness: Harness, busybox_image: BusyboxImage) -> None:
    secret = "Pa55/w0rd+s3cr3t"
    encoded = base64.b64encode(secret.encode()).decode()
    basic = base64.b64encode(f"deploy:{secret}".encode()).decode()
    # Plain, URL-encoded, base64 of the value and of a basic-auth pair, and split over two
    # writes with a pause between them (the line is whole only once the second arrives).
    script = (
        'echo "plain=$API_TOKEN"; '
        f'echo "url=https://deploy:{quote(secret, safe="")}@git.example.test/"; '
        f'echo "b64={encoded}"; echo "Authorization: Basic {basic}"; '
        f'printf "split={secret[:7]}"; sleep 0.3; printf "{secret[7:]}\\n"; '
        'echo "control=visible"; ' + SERVE.format(port=8080)
    )
    service = await harness.service(
        app(busybox_image.ref("v1"), command=shell(script)),
        env=[EnvVarSpec(key="API_TOKEN", value=secret, secret=True)],
    )
    deployment = await harness.deploy(service)
    assert_succeeded(deployment)
    printed = {line.text.split("=", 1)[0].split(":", 1)[0]: line.text for line in await harness.logs(deployment.id)
               if line.stream == LogStream.STDOUT}
    assert printed["control"] == "control=visible"  # the container's output is there at all
    assert printed["plain"] == "plain=***"
    assert printed["url"] == "url=https://deploy:***@git.example.test/"
    assert printed["b64"] == "b64=***"
    assert encoded not in printed["b64"] and basic not in printed["Authorization"]
    assert printed["Authorization"].startswith("Authorization: Basic ") and "***" in printed["Authorization"]
    assert printed["split"] == "split=***"
    stored = "\n".join(line.text for line in await harness.logs(deployment.id))
    for spelling in (secret, quote(secret, safe=""), encoded, secret[:7] + secret[7:]):
        assert spelling not in stored


# --------------------------------------------------------------------------- HEALTH failures


async def deployed_v1(harness: Harness, busybox_image: BusyboxImage, ports: list[str] | None = None,
                      **service: Any) -> tuple[Any, Deployment]:
    created = await harness.service(app(busybox_image.ref("v1"), ports), **service)
    first = await harness.deploy(created)
    assert_succeeded(first)
    return created, first


CGI_500 = ("mkdir -p /www/cgi-bin && printf '#!/bin/sh\\necho Status: 500 Boom\\necho\\n' > /www/cgi-bin/fail"
           " && busybox chmod +x /www/cgi-bin/fail; ")


@postgres_only
async def test_app_answering_500_rolls_back_to_the_previous_version(
    harness: Harness, busybox_image: BusyboxImage
) -> None:
    service, first = await deployed_v1(harness, busybox_image, health=HealthCheckSpec(kind="HTTP", port=8080))
    await harness.update(
        service,
        source=app(busybox_image.ref("v2"), command=shell(CGI_500 + SERVE.format(port=8080))),
        health_check=HealthCheckSpec(kind="HTTP", port=8080, path="/cgi-bin/fail", timeout_seconds=3, interval_seconds=1),
    )
    failed = await harness.deploy(service)
    message = await assert_failed_at(harness, failed, "HEALTH", "HEALTH_FAILED")
    assert "not healthy within 3 s" in message and "HTTP 500" in message
    assert "berth-test-app v2 listening" not in message  # the command replaced the image's
    assert f"rolled back to deployment {await human_name(first)}" in message
    assert harness.deployment_containers(failed) == []
    assert harness.serving(service) == busybox_image.page("v1")


@postgres_only
async def test_container_that_exits_fails_health_and_the_previous_version_serves_again(
    harness: Harness, busybox_image: BusyboxImage
) -> None:
    service, first = await deployed_v1(harness, busybox_image)
    await harness.update(service, source=app(busybox_image.ref("v2"), command=shell("echo about to die; exit 3")))
    failed = await harness.deploy(service)
    message = await assert_failed_at(harness, failed, "HEALTH", "HEALTH_FAILED")
    assert f"container berth-{service.name}-{failed.id}-1 exited" in message and "about to die" in message
    assert f"rolled back to deployment {await human_name(first)}" in message
    assert harness.deployment_containers(failed) == []
    assert harness.serving(service) == busybox_image.page("v1")
    texts = [line.text for line in await harness.logs(failed.id)]
    assert any("rolled back to deployment" in text for text in texts)


@postgres_only
async def test_failing_healthcheck_with_a_fixed_port_restarts_the_stopped_previous_container(
    harness: Harness, busybox_image: BusyboxImage
) -> None:
    port = free_port()
    ports = [f"127.0.0.1:{port}:8080"]
    service, first = await deployed_v1(harness, busybox_image, ports,
                                       health=HealthCheckSpec(kind="DOCKER", timeout_seconds=20))
    # httpd on 9090: the image's HEALTHCHECK (GET :8080) never passes.
    await harness.update(service, source=app(busybox_image.ref("v2"), ports,
                                             command=shell(SERVE.format(port=9090))))
    failed = await harness.deploy(service)
    message = await assert_failed_at(harness, failed, "HEALTH", "HEALTH_FAILED")
    assert "unhealthy" in message
    assert "previous container" in message or "rolled back" in message
    assert harness.deployment_containers(failed) == []
    assert http_get(f"http://127.0.0.1:{port}/")[1] == busybox_image.page("v1")
    [running] = harness.containers(service)
    assert running.labels["io.berth.deployment-id"] == str(first.id)


@postgres_only
async def test_wrong_port_without_auto_rollback_leaves_nothing_running(
    harness: Harness, busybox_image: BusyboxImage
) -> None:
    service, _ = await deployed_v1(harness, busybox_image, auto_rollback=False)
    await harness.update(service, health_check=HealthCheckSpec(kind="TCP", port=9999, timeout_seconds=3,
                                                         interval_seconds=1))
    failed = await harness.deploy(service, image_tag="v2")
    message = await assert_failed_at(harness, failed, "HEALTH", "HEALTH_FAILED")
    assert "not healthy within 3 s" in message and "9999" in message
    assert "autoRollback is off" in message
    assert harness.deployment_containers(failed) == []
    assert harness.containers(service) == []
