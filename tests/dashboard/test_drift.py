"""Drift on the dashboard: a container stopped by hand shows as DRIFTED, field by field,
without a reload (the observer looks every second here; the pages read again every 10 s)."""

from __future__ import annotations

import docker
from playwright.sync_api import expect

from tests.docker_fixtures import APP_PORT, BusyboxImage
from tests.support.polling import wait_until

from .conftest import Browsing, Served
from .support import sign_in

OBSERVED_TIMEOUT = 40_000  # ms: an observation (1 s) plus the pages' next read (10 s), on a busy machine


def test_a_container_stopped_by_hand_shows_as_drifted(
    observing_server: Served, browsing: Browsing, busybox_image: BusyboxImage,
    unique_name: str, docker_cleanup: list[str], docker_client: docker.DockerClient,
) -> None:  # fmt: skip
    docker_cleanup.append(unique_name)
    api = observing_server.api()
    service = api.create_image_service(unique_name, busybox_image.ref("v1"), source={"ports": [f"127.0.0.1::{APP_PORT}"]})
    deployment = api.start(service["id"])
    wait_until(lambda: api.deployment(deployment["id"])["conclusion"], 120, "the deployment to conclude")
    assert api.deployment(deployment["id"])["conclusion"] == "SUCCEEDED"

    page = browsing.page
    sign_in(page, observing_server.url, api.token)
    page.goto(f"{observing_server.url}/#/deployments/{deployment['id']}")
    observed = page.get_by_role("region", name="Last observed state")
    expect(observed.locator(".badge")).to_have_text("IN_SYNC", timeout=OBSERVED_TIMEOUT)
    page.evaluate("window.__notReloaded = true")

    containers = docker_client.containers.list(filters={"name": unique_name})
    assert containers, "the deployment's container"
    for container in containers:
        container.stop(timeout=1)

    expect(observed.locator(".badge")).to_have_text("DRIFTED", timeout=OBSERVED_TIMEOUT)
    drift = observed.get_by_role("table", name="Drift, field by field")
    expect(drift.locator("tbody tr").first).to_be_visible()
    expect(drift.locator("mark").first).to_be_visible()  # the observed value, highlighted
    assert page.evaluate("window.__notReloaded") is True

    page.get_by_role("link", name="Services", exact=True).click()
    row = page.locator(".service-row", has=page.get_by_role("link", name=unique_name, exact=True))
    expect(row.locator(".badge").last).to_have_text("DRIFTED")
