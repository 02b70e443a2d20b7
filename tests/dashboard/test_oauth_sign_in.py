""""Sign in with <issuer>": authorization code + PKCE against an authorization server the test
runs on loopback; the page ends up with the issuer's JWT as its bearer, the code out of the URL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.auth.issuer import AUDIENCE
from tests.databases import DatabaseTemplates
from tests.support.live_server import TEST_SECRET_KEY

from .conftest import Browsing, Served, _serve
from .oauth_issuer import AuthorizationServer
from .support import open_page

CLIENT_ID = "berth-dashboard"


@pytest.fixture(scope="module")
def authorization_server() -> Iterator[AuthorizationServer]:
    server = AuthorizationServer(
        CLIENT_ID, berth_role="operator", scope="deploy:read service:read server:read logs:read deploy:start"
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def oauth_server(
    database_templates: DatabaseTemplates,
    tmp_path_factory: pytest.TempPathFactory,
    authorization_server: AuthorizationServer,
) -> Iterator[Served]:
    yield from _serve(
        database_templates, "sqlite", tmp_path_factory.mktemp("dashboard-oauth"), [],
        {"BERTH_OAUTH_ISSUER": authorization_server.url, "BERTH_OAUTH_AUDIENCE": AUDIENCE,
         "BERTH_OAUTH_CLIENT_ID": CLIENT_ID, "BERTH_SECRET_KEY": TEST_SECRET_KEY},
    )  # fmt: skip


def test_sign_in_with_the_issuer(oauth_server: Served, authorization_server: AuthorizationServer, browsing: Browsing) -> None:
    page = browsing.page
    issuer_host = authorization_server.url.removeprefix("http://")
    open_page(page, oauth_server.url + "/", page.get_by_role("button", name=f"Sign in with {issuer_host}"))

    # Refused at the issuer: back on the form, saying so.
    authorization_server.refuse_next = True
    page.get_by_role("button", name=f"Sign in with {issuer_host}").click()
    expect(page.get_by_role("status")).to_have_text("The sign-in was not completed: the user said no.")
    assert "error=" not in page.url

    page.get_by_role("button", name=f"Sign in with {issuer_host}").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.locator(".viewer")).to_have_text("ada@example.test (operator)")
    expect(page.get_by_text("0 deployments")).to_be_visible()  # the API accepted the JWT
    assert "code=" not in page.url and "state=" not in page.url

    exchange = authorization_server.exchanges[-1]
    assert exchange["client_id"] == CLIENT_ID and exchange["redirect_uri"] == oauth_server.url + "/"
    # The issuer answered only because this verifier hashes to the challenge the page sent.
    assert len(exchange["code_verifier"]) >= 43
    stored = page.evaluate("() => ({...sessionStorage})")
    assert list(stored) == ["berth.credential"] and stored["berth.credential"].count(".") == 2  # a JWT

    # The page may reach the issuer's token endpoint, and nothing else outside.
    policy = page.request.get(oauth_server.url + "/").headers["content-security-policy"]
    assert f"connect-src 'self' {authorization_server.url}" in policy
