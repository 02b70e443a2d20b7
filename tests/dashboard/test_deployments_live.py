"""Deploying from the dashboard against real Docker: the steps and logs arrive live (no
reload), the artifact's Copy/Download give the API's bytes, the deployments table follows
the feed, Roll back to this, Cancel; a viewer sees none of the buttons."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.docker_fixtures import APP_PORT, BusyboxImage

from .conftest import Browsing, Served
from .support import sign_in

DEPLOY_TIMEOUT = 120_000  # ms
STEPS = ("CLONE", "BUILD", "PULL", "VOLUME", "START", "HEALTH", "FINALIZE")
IMAGE_STEPS_DONE = {kind: "SKIPPED" if kind in ("CLONE", "BUILD") else "SUCCEEDED" for kind in STEPS}

# Records every status each step showed, from the moment it is installed: proof that the page
# changed in place (and the marker proves it was never reloaded).
WATCH_STEPS = """() => {
  window.__stepStatuses = {};
  window.__notReloaded = true;
  const record = () => document.querySelectorAll('li[data-step]').forEach((li) => {
    const seen = (window.__stepStatuses[li.dataset.step] ||= []);
    if (seen[seen.length - 1] !== li.dataset.status) seen.push(li.dataset.status);
  });
  record();
  new MutationObserver(record).observe(document.body, {subtree: true, childList: true, attributes: true});
}"""


def open_service(page: Any, name: str) -> None:
    page.get_by_role("link", name="Services", exact=True).click()
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", name=f"{name}/production/{name}")).to_be_visible()


def deploy_from_ui(page: Any, name: str, tag: str, number: int) -> None:
    open_service(page, name)
    page.get_by_label("Image tag").fill(tag)
    page.get_by_role("button", name="Deploy", exact=True).click()
    expect(page.get_by_role("heading", name=f"{name}/production/{name} #{number}")).to_be_visible()


def expect_steps(page: Any, statuses: dict[str, str]) -> None:
    for kind, status in statuses.items():
        expect(page.locator(f'li[data-step="{kind}"]')).to_have_attribute("data-status", status, timeout=DEPLOY_TIMEOUT)


def current_deployment_id(page: Any) -> str:
    match = re.search(r"#/deployments/([^/]+)$", page.url)
    assert match, page.url
    return match.group(1)


def test_deploy_watch_live_artifact_feed_and_roll_back(
    runner_server: Served, browsing: Browsing, second_browsing: Browsing,
    busybox_image: BusyboxImage, unique_name: str, docker_cleanup: list[str], tmp_path: Path,
) -> None:  # fmt: skip
    docker_cleanup.append(unique_name)
    api = runner_server.api()
    api.create_image_service(
        unique_name, busybox_image.ref("v1"),
        source={"ports": [f"127.0.0.1::{APP_PORT}"]},
        healthCheck={"kind": "HTTP", "port": APP_PORT, "path": "/index.html"},
    )  # fmt: skip
    page = browsing.page
    browsing.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=runner_server.url)
    sign_in(page, runner_server.url, api.token)

    # Deploy v1 from the service page; the details page follows it to the end in place.
    deploy_from_ui(page, unique_name, "v1", 1)
    page.evaluate(WATCH_STEPS)
    expect_steps(page, IMAGE_STEPS_DONE)
    expect(page.locator(".summary .badge").first).to_have_text("COMPLETED", timeout=DEPLOY_TIMEOUT)
    expect(page.locator(".summary")).to_contain_text("SUCCEEDED")
    seen = page.evaluate("window.__stepStatuses")
    assert page.evaluate("window.__notReloaded") is True
    assert any("RUNNING" in seen.get(kind, []) for kind in ("START", "HEALTH", "FINALIZE")), seen
    # The container's own output, streamed into the logs panel.
    expect(page.locator(".log-viewport")).to_contain_text(f"berth-test-app v1 listening on {APP_PORT}")
    expect(page.locator(".log-ended")).to_be_visible()
    first_id = current_deployment_id(page)
    assert api.deployment(first_id)["conclusion"] == "SUCCEEDED"

    # Download and Copy give the bytes of the artifact endpoint (read before and after: an
    # observation landing in between changes the document).
    before = api.artifact_bytes(first_id)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download JSON").click()
    downloaded = Path(download.value.path()).read_bytes()
    page.get_by_role("button", name="Copy JSON").click()
    expect(page.get_by_text("Copied the artifact JSON.")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()").encode()
    after = api.artifact_bytes(first_id)
    assert downloaded in (before, after) and copied in (before, after)
    assert download.value.suggested_filename.endswith(".json")

    # A second tab on the deployments page, filtered to this service, sees #2 arrive live.
    watcher = browsing.new_page()
    sign_in(watcher, runner_server.url, api.token)  # sessionStorage is per tab
    watcher.get_by_label("Service").select_option(label=f"{unique_name}/production/{unique_name}")
    expect(watcher.get_by_text("1 deployment", exact=True)).to_be_visible()
    watcher.evaluate("window.__notReloaded = true")

    deploy_from_ui(page, unique_name, "v2", 2)
    expect_steps(page, IMAGE_STEPS_DONE)
    row = watcher.locator("tr", has=watcher.get_by_role("link", name=f"Deployment #2 of {unique_name}/production/{unique_name}"))
    expect(row).to_contain_text("COMPLETED", timeout=DEPLOY_TIMEOUT)
    expect(row).to_contain_text("SUCCEEDED")
    assert watcher.evaluate("window.__notReloaded") is True

    # Roll back to #1 from the service page.
    open_service(page, unique_name)
    expect(page.get_by_role("button", name="Roll back to #2")).to_have_count(0)  # the current one
    page.get_by_role("button", name="Roll back to #1").click()
    expect(page.get_by_role("heading", name=f"{unique_name}/production/{unique_name} #3")).to_be_visible()
    expect_steps(page, IMAGE_STEPS_DONE)
    expect(page.locator(".summary")).to_contain_text("Rollback of")
    expect(page.locator(".summary").get_by_role("link", name="#1")).to_be_visible()
    rolled = api.deployment(current_deployment_id(page))
    assert rolled["number"] == 3 and rolled["conclusion"] == "SUCCEEDED" and rolled["rollbackOf"]["number"] == 1

    # The servers page counts this server's work (nothing left queued or running).
    page.get_by_role("link", name="Servers", exact=True).click()
    local = page.locator("tr", has=page.get_by_role("rowheader", name="local"))
    expect(local.locator(".queued")).to_contain_text("0 of")
    expect(local.locator(".running")).to_contain_text("0 of 1")
    expect(local).to_contain_text("local socket")

    # A viewer reads the same service and deployments, without a Deploy or Roll back button.
    viewer = second_browsing.page
    sign_in(viewer, runner_server.url, runner_server.token("viewer", "dashboard viewer"))
    open_service(viewer, unique_name)
    expect(viewer.get_by_role("link", name=f"Deployment #3 of {unique_name}/production/{unique_name}")).to_be_visible()
    expect(viewer.get_by_role("button", name="Deploy")).to_have_count(0)
    expect(viewer.get_by_label("Image tag")).to_have_count(0)
    expect(viewer.get_by_role("button", name=re.compile("Roll back"))).to_have_count(0)
    open_service(page, unique_name)  # while the owner has both
    expect(page.get_by_role("button", name="Deploy", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Roll back to #2")).to_be_visible()


def test_cancel_a_running_deployment(
    runner_server: Served, browsing: Browsing, second_browsing: Browsing,
    busybox_image: BusyboxImage, unique_name: str, docker_cleanup: list[str],
) -> None:  # fmt: skip
    docker_cleanup.append(unique_name)
    api = runner_server.api()
    # The app answers 404 on /missing: HEALTH keeps probing until the deployment is canceled.
    api.create_image_service(
        unique_name, busybox_image.ref("v1"),
        source={"ports": [f"127.0.0.1::{APP_PORT}"]},
        healthCheck={"kind": "HTTP", "port": APP_PORT, "path": "/missing", "timeoutSeconds": 300},
    )  # fmt: skip
    page = browsing.page
    sign_in(page, runner_server.url, api.token)
    deploy_from_ui(page, unique_name, "v1", 1)
    expect_steps(page, {"HEALTH": "RUNNING"})

    viewer = second_browsing.page  # a viewer on the same running deployment: no Cancel
    sign_in(viewer, runner_server.url, runner_server.token("viewer", "dashboard viewer"))
    viewer.goto(page.url)
    expect(viewer.locator('li[data-step="HEALTH"]')).to_have_attribute("data-status", "RUNNING")
    expect(viewer.get_by_role("button", name="Cancel")).to_have_count(0)

    page.get_by_role("button", name="Cancel", exact=True).click()
    expect_steps(page, {"HEALTH": "CANCELED"})
    expect(page.locator(".summary")).to_contain_text("CANCELED", timeout=DEPLOY_TIMEOUT)
    expect(page.locator(".summary")).to_contain_text("Cancel requested")
    expect(page.get_by_role("button", name="Cancel", exact=True)).to_have_count(0)  # no longer active
    deployment = api.deployment(current_deployment_id(page))
    assert (deployment["status"], deployment["conclusion"]) == ("FAILED", "CANCELED")
