"""A service's pull-request previews on its page: opened by a signed webhook, shown with
their head and deployment, closed from the page by a credential that may cancel — and
without the button for one that may not."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.webhooks.payloads import PR_EVENT, encode, pull_request_payload, signed_headers

from .conftest import Browsing, Served
from .support import sign_in

HEAD = "c0ffee" + "0" * 34


def test_previews_show_on_the_service_page_and_close_from_it(
        queue_server: Served, browsing: Browsing, unique_name: str) -> None:
    api = queue_server.api()
    project = api.mutate(
        "createProject",
        "mutation($i: CreateProjectInput!) { createProject(input: $i) { project { id } errors { code message } } }",
        i={"name": unique_name, "environments": ["production"]},
    )["project"]
    service = api.mutate(
        "createService",
        "mutation($i: CreateServiceInput!) { createService(input: $i) { service { id } errors { code message } } }",
        i={"projectId": project["id"], "environment": "production", "name": unique_name,
           "serverId": api.local_server_id(),
           "source": {"type": "DOCKERFILE", "repository": "https://git.example.test/org/app.git", "branch": "main"}},
    )["service"]
    hook = api.mutate(
        "createGitHook",
        "mutation($i: CreateGitHookInput!) { createGitHook(input: $i) { gitHook { url } secret errors { code message } } }",
        i={"serviceId": service["id"], "provider": "GITHUB", "repository": "org/app", "branch": "main", "previews": True},
    )
    body = encode(pull_request_payload("github", "org/app", 42, head_sha=HEAD, head_ref="feature/login",
                                       title="Login page", author="dana"))
    opened = httpx.post(hook["gitHook"]["url"], content=body,
                        headers=signed_headers("github", hook["secret"], body, PR_EVENT["github"]), timeout=30)
    assert opened.json()["outcome"] == "PREVIEW_DEPLOYED", opened.text

    page = browsing.page
    sign_in(page, queue_server.url, queue_server.token("viewer", "previews viewer"))
    page.goto(f"{queue_server.url}/#/services/{service['id']}")
    previews = page.get_by_role("region", name="Previews")
    row = previews.locator("tbody tr")
    expect(row).to_contain_text("#42 Login page by dana")
    expect(row).to_contain_text(f"feature/login @ {HEAD[:12]}")
    expect(row).to_contain_text("ACTIVE")
    expect(row.get_by_role("link", name="#1")).to_be_visible()  # the preview's deployment, queued
    expect(previews.get_by_role("button", name="Close preview of #42")).to_have_count(0)  # no deploy:cancel

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, queue_server.url, api.token)
    page.goto(f"{queue_server.url}/#/services/{service['id']}")
    previews.get_by_role("button", name="Close preview of #42").click()
    expect(row).to_contain_text("CLOSED")
    expect(previews.get_by_role("button", name="Close preview of #42")).to_have_count(0)
    state = api.graphql("query($id: ID!) { service(id: $id) { previews { status closedAt } } }", id=service["id"])
    assert [(p["status"], bool(p["closedAt"])) for p in state["service"]["previews"]] == [("CLOSED", True)]
