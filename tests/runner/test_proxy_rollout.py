"""Zero-downtime rollouts through the server's Caddy proxy (issue 16), on the real daemon with
the real proxy image: requests flow through the published proxy port during deployments."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

import docker
import docker.errors
import pytest

from berth.domain.specs import HealthCheckSpec, RouteSpec, SourceSpec
from berth.models import Deployment, Server, Service
from berth.models.enums import DeploymentConclusion, DeploymentStatus, DriftStatus, StepKind
from berth.runner.engines import open_engine
from berth.runner.labels import PROXY, SERVER
from berth.runner.observer import Observer
from berth.runner.proxy.caddy import ProxyRoute
from berth.runner.proxy.container import find_proxy, network_name
from berth.runner.proxy.control import load_config
from tests.docker_fixtures import (
    APP_PORT,
    APP_REPO,
    GIT_VERSION,
    BusyboxImage,
    GitRepo,
    SshDocker,
    TlsDocker,
    build_and_push,
    build_busybox_context,
)
from tests.runner.conftest import postgres_only
from tests.runner.executor_support import Harness
from tests.runner.traffic import TrafficLoop, get
from tests.support.live_server import free_port
from tests.support.polling import poll

pytestmark = postgres_only


@pytest.fixture
def routed(harness: Harness, proxy_image: str) -> Iterator[Harness]:
    harness.settings = dataclasses.replace(harness.settings, proxy_image=proxy_image)
    yield harness


SLOW_CGI = "#!/bin/sh\nsleep 2\necho 'Content-Type: text/plain'\necho\necho slow {version}\n"


@pytest.fixture(scope="module")
def slow_images(docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The app whose GET /cgi-bin/slow takes 2 s, as slow-v1 and slow-v2."""
    refs = {}
    for version in ("slow-v1", "slow-v2"):
        context = build_busybox_context(tmp_path_factory.mktemp(version), version,
                                        extra_files={"/www/cgi-bin/slow": SLOW_CGI.format(version=version)})
        build_and_push(docker_client, context, APP_REPO, version)
        refs[version] = f"{APP_REPO}:{version}"
    return refs


async def routed_service(harness: Harness, image: str, host: str, drain_seconds: int = 1,
                         **source: object) -> tuple[Server, Service, int]:
    port = free_port()
    server = await harness.server(proxy_listen=f"127.0.0.1:{port}")
    service = await harness.service(SourceSpec(type="IMAGE", image=image, **source),  # type: ignore[arg-type]
                                    server=server, route=RouteSpec(host=host, container_port=APP_PORT,
                                                                   drain_seconds=drain_seconds))
    return server, service, port


def page(version: str) -> str:
    return BusyboxImage.page(version)


def assert_succeeded(deployment: Deployment) -> None:
    assert (deployment.status, deployment.conclusion) == (
        DeploymentStatus.COMPLETED, DeploymentConclusion.SUCCEEDED), deployment.error


def proxy_containers(client: docker.DockerClient, server: Server) -> list[str]:
    found = client.api.containers(all=True, filters={"label": [f"{PROXY}=true", f"{SERVER}={server.id}"]})
    return [c["Id"] for c in found]


async def test_requests_move_from_v1_to_v2_without_an_error(routed: Harness, busybox_image: BusyboxImage) -> None:
    host = f"{routed.token}.example.test"
    server, service, port = await routed_service(routed, busybox_image.ref("v1"), host)
    first = await routed.deploy(service)
    assert_succeeded(first)
    assert get(port, host).body == page("v1")

    with TrafficLoop(port, host) as loop:
        await poll(lambda: loop.count(lambda a: a.body == page("v1")) >= 5, 20, "v1 answering through the proxy")
        second = await routed.deploy(service, image_tag="v2")
        assert_succeeded(second)
        seen = loop.count(lambda a: True)
        await poll(lambda: loop.count(lambda a: True) >= seen + 5, 20, "requests after the deployment")
    answers = loop.stop()

    errors = [a for a in answers if not a.ok]
    assert not errors, f"{len(errors)} of {len(answers)} requests failed, first: {errors[0]}"
    bodies = [a.body for a in answers]
    assert set(bodies) == {page("v1"), page("v2")}
    switch = bodies.index(page("v2"))
    assert all(b == page("v1") for b in bodies[:switch]) and all(b == page("v2") for b in bodies[switch:]), \
        "a v1 answer came after the first v2 answer"
    assert bodies[-1] == page("v2")

    finalize = (await routed.steps(second.id))["FINALIZE"]
    assert "traffic switched to berth-" in (finalize.detail or "") and " ms" in (finalize.detail or "")
    # The old container is retired after the drain; only v2's runs.
    assert [c.name for c in routed.containers(service)] == [c.name for c in routed.deployment_containers(second)]
    # What the proxy itself reports.
    status = (await Server.get(id=server.id)).proxy_status
    assert status["state"] == "RUNNING" and status["httpAddress"] == f"127.0.0.1:{port}"
    [upstream] = status["upstreams"]
    assert upstream["host"] == host and upstream["deploymentId"] == second.id
    assert upstream["upstream"] == f"{routed.deployment_containers(second)[0].name}:{APP_PORT}"


async def test_a_failing_health_check_never_switches(routed: Harness, busybox_image: BusyboxImage) -> None:
    host = f"{routed.token}.example.test"
    server, service, port = await routed_service(routed, busybox_image.ref("v1"), host)
    assert_succeeded(await routed.deploy(service))
    # v2 listens on the wrong port: its image's HEALTHCHECK (port 8080) never passes.
    await routed.update(service, source=SourceSpec(
        type="IMAGE", image=busybox_image.ref("v2"),
        command=["/bin/sh", "-c", "trap 'exit 0' TERM; httpd -f -p 9090 -h /www & wait"]))

    with TrafficLoop(port, host) as loop:
        await poll(lambda: loop.count(lambda a: a.ok) >= 5, 20, "v1 answering through the proxy")
        failed = await routed.deploy(service)
        seen = loop.count(lambda a: True)
        await poll(lambda: loop.count(lambda a: True) >= seen + 5, 20, "requests after the deployment")
    answers = loop.stop()

    assert failed.status == DeploymentStatus.FAILED and failed.error["step"] == "HEALTH", failed.error
    assert [a for a in answers if not a.ok] == []
    assert {a.body for a in answers} == {page("v1")}
    assert routed.deployment_containers(failed) == []  # the new one is removed
    status = (await Server.get(id=server.id)).proxy_status
    assert [u["upstream"].rsplit("-", 2)[0] for u in status["upstreams"]] == [f"berth-{service.name}"]
    assert get(port, host).body == page("v1")


async def test_the_proxy_removed_by_hand_comes_back_on_the_next_deployment(
    routed: Harness, busybox_image: BusyboxImage,
) -> None:
    host = f"{routed.token}.example.test"
    server, service, port = await routed_service(routed, busybox_image.ref("v1"), host)
    assert_succeeded(await routed.deploy(service))
    [proxy] = proxy_containers(routed.client, server)
    await asyncio.to_thread(routed.client.api.remove_container, proxy, force=True)
    assert get(port, host).status is None  # nothing listens any more

    assert_succeeded(await routed.deploy(service, image_tag="v2"))
    [again] = proxy_containers(routed.client, server)
    assert again != proxy
    assert get(port, host).body == page("v2")


async def test_the_observer_reports_drift_and_puts_a_removed_proxy_back(
    routed: Harness, busybox_image: BusyboxImage,
) -> None:
    host = f"{routed.token}.example.test"
    server, service, port = await routed_service(routed, busybox_image.ref("v1"), host)
    deployed = await routed.deploy(service)
    assert_succeeded(deployed)
    observer = Observer(routed.settings)
    observed = await observer.observe_service(service.id)
    assert observed is not None and observed.drift == DriftStatus.IN_SYNC, observed.differences

    # The host routed elsewhere by hand: one config load with another upstream.
    engine = await open_engine(server)
    try:
        proxy = await find_proxy(engine, server)
        assert proxy is not None
        await load_config(engine, proxy.id, [ProxyRoute(service.id, host, None, "elsewhere.invalid:80")])
    finally:
        await engine.close()
    observed = await observer.observe_service(service.id)
    assert observed is not None and observed.drift == DriftStatus.DRIFTED
    [container] = routed.deployment_containers(deployed)
    assert {"field": "route.upstream", "expected": f"{container.name}:{APP_PORT}",
            "actual": "elsewhere.invalid:80"} in observed.differences

    # Removed by hand: the next observation starts it again, with the route of the deployment.
    for proxy_id in proxy_containers(routed.client, server):
        await asyncio.to_thread(routed.client.api.remove_container, proxy_id, force=True)
    observed = await observer.observe_service(service.id)
    assert observed is not None and observed.drift == DriftStatus.IN_SYNC, observed.differences
    assert len(proxy_containers(routed.client, server)) == 1
    assert get(port, host).body == page("v1")
    assert (await Server.get(id=server.id)).proxy_status["state"] == "RUNNING"


async def test_a_rollback_moves_traffic_back_the_same_way(routed: Harness, busybox_image: BusyboxImage) -> None:
    host = f"{routed.token}.example.test"
    server, service, port = await routed_service(routed, busybox_image.ref("v1"), host)
    first = await routed.deploy(service)
    assert_succeeded(first)
    assert_succeeded(await routed.deploy(service, image_tag="v2"))
    assert get(port, host).body == page("v2")

    with TrafficLoop(port, host) as loop:
        await poll(lambda: loop.count(lambda a: a.ok) >= 5, 20, "v2 answering through the proxy")
        back = await routed.rollback(service, to=first)
        assert_succeeded(back)
        seen = loop.count(lambda a: True)
        await poll(lambda: loop.count(lambda a: True) >= seen + 5, 20, "requests after the rollback")
    answers = loop.stop()
    assert [a for a in answers if not a.ok] == []
    bodies = [a.body for a in answers]
    switch = bodies.index(page("v1"))
    assert set(bodies[:switch]) == {page("v2")} and set(bodies[switch:]) == {page("v1")}
    assert back.frozen_input["route"] == first.frozen_input["route"]
    assert "traffic switched to" in ((await routed.steps(back.id))["FINALIZE"].detail or "")


async def test_a_cancel_before_the_switch_leaves_the_old_version_serving(
    routed: Harness, busybox_image: BusyboxImage,
) -> None:
    host = f"{routed.token}.example.test"
    server, service, port = await routed_service(routed, busybox_image.ref("v1"), host)
    assert_succeeded(await routed.deploy(service))
    # Never healthy (wrong port), so HEALTH runs until the cancel.
    await routed.update(service, source=SourceSpec(
        type="IMAGE", image=busybox_image.ref("v2"),
        command=["/bin/sh", "-c", "trap 'exit 0' TERM; httpd -f -p 9090 -h /www & wait"]))

    with TrafficLoop(port, host) as loop:
        await poll(lambda: loop.count(lambda a: a.ok) >= 5, 20, "v1 answering through the proxy")
        queued = await routed.queue(service)
        running = asyncio.create_task(routed.execute(queued.id))
        await routed.cancel_when(queued.id, StepKind.HEALTH)
        canceled = await asyncio.wait_for(running, 60)
        seen = loop.count(lambda a: True)
        await poll(lambda: loop.count(lambda a: True) >= seen + 5, 20, "requests after the cancel")
    answers = loop.stop()
    assert (canceled.status, canceled.conclusion) == (DeploymentStatus.FAILED, DeploymentConclusion.CANCELED)
    assert canceled.error["step"] == "HEALTH", canceled.error
    assert [a for a in answers if not a.ok] == []
    assert {a.body for a in answers} == {page("v1")}
    assert routed.deployment_containers(canceled) == []


async def test_a_slow_request_started_before_the_switch_completes(
    routed: Harness, slow_images: dict[str, str],
) -> None:
    host = f"{routed.token}.example.test"
    # The old version drains 4 s: longer than a slow request.
    server, service, port = await routed_service(routed, slow_images["slow-v1"], host, drain_seconds=4)
    assert_succeeded(await routed.deploy(service))
    with TrafficLoop(port, host) as fast, TrafficLoop(port, host, path="/cgi-bin/slow", pause=0.0) as slow:
        await poll(lambda: slow.count(lambda a: a.ok) >= 1, 20, "a slow answer through the proxy")
        assert_succeeded(await routed.deploy(service, image_tag="slow-v2"))
        await poll(lambda: slow.count(lambda a: "slow-v2" in a.body) >= 1, 20, "a slow answer of v2")
    fast_answers, slow_answers = fast.stop(), slow.stop()
    assert [a for a in fast_answers + slow_answers if not a.ok] == []
    switched_at = next(a.at for a in fast_answers if a.body == page("slow-v2"))
    # Started on v1 before the switch, answered by v1 after it: the drain let it finish.
    spanning = [a for a in slow_answers if a.body.strip() == "slow slow-v1" and a.started < switched_at < a.at]
    assert spanning, [(round(a.started - switched_at, 2), round(a.at - switched_at, 2), a.body) for a in slow_answers]


def drop_proxy(client: docker.DockerClient, server: Server) -> None:
    """The proxy and its network on a daemon the installation cleanup does not visit."""
    for proxy_id in proxy_containers(client, server):
        client.api.remove_container(proxy_id, force=True)
    for network in client.networks.list(names=[network_name()]):
        with contextlib.suppress(docker.errors.APIError):
            network.remove()


async def rollout_on(routed: Harness, busybox_image: BusyboxImage, client: docker.DockerClient,
                     **endpoint: Any) -> None:
    """v1 -> v2 with an HTTP health check: the runner cannot reach the proxy network of a
    remote server, so HEALTH probes the new container from the proxy."""
    host = f"{routed.token}.example.test"
    port = free_port()
    server = await routed.server(proxy_listen=f"127.0.0.1:{port}", **endpoint)
    try:
        service = await routed.service(
            SourceSpec(type="IMAGE", image=busybox_image.ref("v1")), server=server,
            health=HealthCheckSpec(kind="HTTP", port=APP_PORT, timeout_seconds=30, interval_seconds=1),
            route=RouteSpec(host=host, container_port=APP_PORT, drain_seconds=1))
        assert_succeeded(await routed.deploy(service))
        with TrafficLoop(port, host) as loop:
            await poll(lambda: loop.count(lambda a: a.ok) >= 5, 20, "v1 answering through the proxy")
            second = await routed.deploy(service, image_tag="v2")
            assert_succeeded(second)
            seen = loop.count(lambda a: True)
            await poll(lambda: loop.count(lambda a: True) >= seen + 5, 20, "requests after the deployment")
        answers = loop.stop()
        assert [a for a in answers if not a.ok] == []
        bodies = [a.body for a in answers]
        switch = bodies.index(page("v2"))
        assert set(bodies[:switch]) == {page("v1")} and set(bodies[switch:]) == {page("v2")}
        health = (await routed.steps(second.id))["HEALTH"].detail or ""
        assert "(from the proxy) -> HTTP 200" in health, health
    finally:
        await asyncio.to_thread(drop_proxy, client, server)


async def test_a_tls_target(routed: Harness, busybox_image: BusyboxImage, tls_docker: TlsDocker) -> None:
    await rollout_on(routed, busybox_image, routed.docker_for(tls_docker.host), docker_host=tls_docker.host, tls_ca_cert=tls_docker.ca_cert,
                     tls_client_cert=tls_docker.client_cert, tls_client_key=tls_docker.client_key)


async def test_an_ssh_target(routed: Harness, busybox_image: BusyboxImage, ssh_docker: SshDocker) -> None:
    # ssh://root@127.0.0.1:2222 is the first daemon behind sshd.
    await rollout_on(routed, busybox_image, routed.client, docker_host=ssh_docker.host, ssh_private_key=ssh_docker.private_key,
                     ssh_known_hosts=ssh_docker.known_hosts)


async def test_a_dockerfile_service_switches_the_same_way(routed: Harness, git_repo: GitRepo) -> None:
    host = f"{routed.token}.example.test"
    port = free_port()
    server = await routed.server(proxy_listen=f"127.0.0.1:{port}")
    service = await routed.service(SourceSpec(type="DOCKERFILE", repository=git_repo.url, branch="main"),
                                   server=server, route=RouteSpec(host=host, container_port=APP_PORT,
                                                                  drain_seconds=1))
    assert_succeeded(await routed.deploy(service))
    assert get(port, host).body == page(GIT_VERSION)
    git_repo.set_version("git-v2")
    with TrafficLoop(port, host) as loop:
        await poll(lambda: loop.count(lambda a: a.ok) >= 5, 20, "the first build answering through the proxy")
        assert_succeeded(await routed.deploy(service))
        seen = loop.count(lambda a: True)
        await poll(lambda: loop.count(lambda a: True) >= seen + 5, 20, "requests after the deployment")
    answers = loop.stop()
    assert [a for a in answers if not a.ok] == []
    bodies = [a.body for a in answers]
    switch = bodies.index(page("git-v2"))
    assert set(bodies[:switch]) == {page(GIT_VERSION)} and set(bodies[switch:]) == {page("git-v2")}


def routed_compose(image_repo: str, command: str = "") -> str:
    return f"""\
services:
  web:
    image: {image_repo}:${{BERTH_IMAGE_TAG:-v1}}{command}
    volumes:
      - data:/data
volumes:
  data: {{}}
"""


async def test_compose_blue_green(routed: Harness, busybox_image: BusyboxImage) -> None:
    host = f"{routed.token}.example.test"
    port = free_port()
    server = await routed.server(proxy_listen=f"127.0.0.1:{port}")
    service = await routed.service(
        SourceSpec(type="COMPOSE", compose_content=routed_compose(busybox_image.repo)), server=server,
        route=RouteSpec(host=host, container_port=APP_PORT, compose_service="web", drain_seconds=1))
    first = await routed.deploy(service)
    assert_succeeded(first)
    base = first.frozen_input["composeProject"].removesuffix("-blue")
    assert first.frozen_input["composeProject"] == f"{base}-blue"
    assert get(port, host).body == page("v1")

    with TrafficLoop(port, host) as loop:
        await poll(lambda: loop.count(lambda a: a.ok) >= 5, 20, "blue answering through the proxy")
        second = await routed.deploy(service, image_tag="v2")
        assert_succeeded(second)
        seen = loop.count(lambda a: True)
        await poll(lambda: loop.count(lambda a: True) >= seen + 5, 20, "requests after the deployment")
    answers = loop.stop()
    assert [a for a in answers if not a.ok] == []
    bodies = [a.body for a in answers]
    switch = bodies.index(page("v2"))
    assert set(bodies[:switch]) == {page("v1")} and set(bodies[switch:]) == {page("v2")}
    assert second.frozen_input["composeProject"] == f"{base}-green"
    # Only green runs now; both colours mounted the one volume, which stays.
    running = routed.containers(service)
    assert {c.labels["com.docker.compose.project"] for c in running} == {f"{base}-green"}
    mounts = {m["Name"] for c in running for m in c.attrs["Mounts"] if m["Type"] == "volume"}
    assert mounts == {f"{base}_data"}
    assert "traffic switched to" in ((await routed.steps(second.id))["FINALIZE"].detail or "")

    # A version that never gets healthy (httpd on the wrong port): green stays, blue comes
    # and goes, nobody notices.
    wrong_port = '\n    command: ["/bin/sh", "-c", "trap \'exit 0\' TERM; httpd -f -p 9090 -h /www & wait"]'
    await routed.update(service, source=SourceSpec(
        type="COMPOSE", compose_content=routed_compose(busybox_image.repo, wrong_port)))
    with TrafficLoop(port, host) as loop:
        await poll(lambda: loop.count(lambda a: a.ok) >= 5, 20, "green answering through the proxy")
        failed = await routed.deploy(service, image_tag="v1")
        seen = loop.count(lambda a: True)
        await poll(lambda: loop.count(lambda a: True) >= seen + 5, 20, "requests after the failure")
    answers = loop.stop()
    assert failed.status == DeploymentStatus.FAILED and failed.error["step"] == "HEALTH", failed.error
    assert [a for a in answers if not a.ok] == [] and {a.body for a in answers} == {page("v2")}
    assert {c.labels["com.docker.compose.project"] for c in routed.containers(service)} == {f"{base}-green"}


async def test_a_repository_compose_service_the_route_names_is_checked_at_clone(
    routed: Harness, git_repo: GitRepo,
) -> None:
    service = await routed.service(
        SourceSpec(type="COMPOSE", repository=git_repo.url, branch="main", compose_files=["compose.yaml"]),
        route=RouteSpec(host=f"{routed.token}.example.test", container_port=APP_PORT, compose_service="api"))
    failed = await routed.deploy(service)
    assert failed.status == DeploymentStatus.FAILED and failed.error["step"] == "CLONE", failed.error
    assert "composeService 'api' is not a service of the compose file" in failed.error["message"]
