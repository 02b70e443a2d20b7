"""Deployments to other Docker endpoints run there for real: the second local daemon (its own
socket), the TLS daemon (tcp:// with mutual TLS) and ssh:// (which reaches the first daemon)."""

from __future__ import annotations

import docker

from berth.domain.specs import HealthCheckSpec, SourceSpec
from tests.docker_fixtures import BusyboxImage, SshDocker, TlsDocker
from tests.runner.conftest import postgres_only
from tests.runner.executor_support import Harness, container_url, http_get
from tests.runner.test_executor_image import assert_succeeded
from tests.services import DOCKER2_HOST


def published_app(busybox_image: BusyboxImage) -> SourceSpec:
    return SourceSpec(type="IMAGE", image=busybox_image.ref("v1"), ports=["127.0.0.1::8080"])


HTTP = HealthCheckSpec(kind="HTTP", port=8080, timeout_seconds=30, interval_seconds=1)


@postgres_only
async def test_second_daemon_runs_it_and_the_first_does_not(
    harness: Harness, busybox_image: BusyboxImage, docker2_client: docker.DockerClient
) -> None:
    server = await harness.server(DOCKER2_HOST)
    service = await harness.service(published_app(busybox_image), server=server, health=HTTP)
    deployment = await harness.deploy(service)
    assert_succeeded(deployment)
    second = harness.docker_for(DOCKER2_HOST)
    [container] = harness.containers(service, second)
    assert container.labels["io.berth.deployment-id"] == str(deployment.id)
    assert harness.containers(service, running_only=False) == []  # nothing on the first daemon
    assert http_get(container_url(container) + "/")[1] == busybox_image.page("v1")


@postgres_only
async def test_tls_daemon(harness: Harness, busybox_image: BusyboxImage, tls_docker: TlsDocker) -> None:
    server = await harness.server(tls_docker.host, tls_ca_cert=tls_docker.ca_cert,
                                  tls_client_cert=tls_docker.client_cert, tls_client_key=tls_docker.client_key)
    service = await harness.service(published_app(busybox_image), server=server, health=HTTP)
    deployment = await harness.deploy(service)
    assert_succeeded(deployment)
    [container] = harness.containers(service, harness.docker_for(tls_docker.host))
    assert container.labels["io.berth.deployment-id"] == str(deployment.id)
    assert harness.containers(service, running_only=False) == []
    # The probe went to the published port on the daemon's host, as the HEALTH detail says.
    detail = (await harness.steps(deployment.id))["HEALTH"].detail
    assert detail and "GET http://127.0.0.1:" in detail and "HTTP 200" in detail


@postgres_only
async def test_ssh_target(harness: Harness, busybox_image: BusyboxImage, ssh_docker: SshDocker) -> None:
    server = await harness.server(ssh_docker.host, ssh_private_key=ssh_docker.private_key,
                                  ssh_known_hosts=ssh_docker.known_hosts)
    service = await harness.service(published_app(busybox_image), server=server, health=HTTP)
    deployment = await harness.deploy(service)
    assert_succeeded(deployment)
    # ssh://root@127.0.0.1:2222 is the first daemon behind sshd.
    [container] = harness.containers(service)
    assert container.labels["io.berth.deployment-id"] == str(deployment.id)
    assert harness.serving(service) == busybox_image.page("v1")
    texts = [line.text for line in await harness.logs(deployment.id)]
    assert not any("PRIVATE KEY" in text for text in texts)
