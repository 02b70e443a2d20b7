"""Sign-in by pasting a token: kept in this tab's sessionStorage only, refused credentials
sent back to the form with a message, sign-out forgets it."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from .conftest import Browsing, Served
from .support import open_page, sign_in

REFUSED = "Your credential was refused or has expired. Sign in again."


def storage(page: Any) -> dict[str, dict[str, str]]:
    result: dict[str, dict[str, str]] = page.evaluate(
        "() => ({session: {...sessionStorage}, local: {...localStorage}})"
    )
    return result


def test_sign_in_sign_out_and_a_refused_credential(plain_server: Served, browsing: Browsing) -> None:
    page = browsing.page
    url = plain_server.url
    token = plain_server.token("owner", "dashboard sign-in")
    # The browser reports the refused requests (HTTP 401) on its console: expected here.
    browsing.console.allow("status of 401")

    open_page(page, url + "/", page.get_by_label("API token"))
    page.get_by_label("API token").fill("berth_pat_" + "x" * 43)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("status")).to_have_text(REFUSED)
    assert storage(page)["session"] == {}

    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Deployments")).to_be_visible()
    expect(page.get_by_text("0 deployments")).to_be_visible()
    assert token not in page.url
    assert storage(page) == {"session": {"berth.credential": token}, "local": {}}

    page.evaluate("window.__beforeTheLoad = true")
    open_page(page, url + "/", page.get_by_role("button", name="Sign out"))  # loaded anew: still signed in
    assert page.evaluate("window.__beforeTheLoad") is None
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("Signed out.")
    expect(page.get_by_label("API token")).to_be_visible()
    assert storage(page)["session"] == {}

    # A credential revoked while signed in: the next request sends the page back to sign-in.
    sign_in(page, url, token)
    admin = plain_server.api()
    tokens = admin.graphql("{ apiTokens { id name } }")["apiTokens"]
    token_id = next(t["id"] for t in tokens if t["name"] == "dashboard sign-in")
    admin.mutate("revokeApiToken", "mutation($id: ID!) { revokeApiToken(id: $id) { errors { code message } } }", id=token_id)
    page.get_by_role("link", name="Servers").click()
    expect(page.get_by_role("status")).to_have_text(REFUSED)
    expect(page.get_by_label("API token")).to_be_visible()
    assert storage(page)["session"] == {}
