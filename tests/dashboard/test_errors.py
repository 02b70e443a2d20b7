"""Errors in words: a payload error (INVALID_INPUT, naming the field) and a field error
(FORBIDDEN, naming the missing scope), as the dashboard shows them."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from .conftest import Browsing, Served
from .support import sign_in


def test_invalid_input_and_forbidden_are_shown_in_words(plain_server: Served, browsing: Browsing, unique_name: str) -> None:
    api = plain_server.api()
    service = api.create_image_service(unique_name, "registry.example.test/app:v1")
    page = browsing.page
    sign_in(page, plain_server.url, api.token)
    page.goto(f"{plain_server.url}/#/services/{service['id']}")
    page.get_by_label("Image tag").fill("not a tag!")
    page.get_by_role("button", name="Deploy", exact=True).click()
    alert = page.locator(".deploy-form").get_by_role("alert")
    expect(alert).to_contain_text("Invalid input (imageTag): imageTag is not an image tag")
    expect(page.get_by_role("link", name=f"Deployment #1 of {unique_name}/production/{unique_name}")).to_have_count(0)

    # A push whose signature does not match: the service's page says what became of it.
    hook = api.mutate(
        "createGitHook",
        "mutation($i: CreateGitHookInput!) { createGitHook(input: $i) { gitHook { id url } errors { code message } } }",
        i={"serviceId": service["id"], "provider": "GITHUB", "repository": "org/app", "branch": "main"},
    )["gitHook"]
    response = httpx.post(
        hook["url"], content=b'{"ref": "refs/heads/main"}',
        headers={"content-type": "application/json", "x-github-event": "push", "x-github-delivery": "d-1",
                 "x-hub-signature-256": "sha256=" + "0" * 64},
    )  # fmt: skip
    assert response.json()["outcome"] == "REJECTED"
    page.reload()
    hooks = page.get_by_role("region", name="Push to deploy")
    expect(hooks).to_contain_text("GITHUB org/app: pushes to main deploy")
    expect(hooks.locator("tbody tr")).to_contain_text("REJECTED signature does not match")

    # A token that reads deployments only: the servers page says what it lacks.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, plain_server.url, plain_server.token("viewer", "deployments only", scopes=("deploy:read",)))
    page.get_by_role("link", name="Servers", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("Not allowed: Missing scope(s): server:read.")
    page.get_by_role("link", name="Services", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Not allowed: Missing scope(s): service:read.")
