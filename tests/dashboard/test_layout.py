"""Every page by keyboard sign-in, at 1280 px in the light scheme and 390 px in the dark one:
nothing wider than the window, the system's colour scheme followed, no console error."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import Served
from .support import open_page

# What sticks out of the window other than inside a scrolling box (to say what is wrong).
WIDER_THAN_THE_WINDOW = """() => [...document.querySelectorAll('body *')]
  .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && (getComputedStyle(e).position === 'absolute' || !e.closest('.table-wrap, .log-viewport, pre')))
  .slice(0, 5).map((e) => `${e.tagName}.${e.className}: ${e.textContent.slice(0, 60)}`)"""


@pytest.mark.parametrize(("scheme", "width", "background"), [("light", 1280, "rgb(255, 255, 255)"), ("dark", 390, "rgb(17, 20, 24)")])
def test_every_page_fits_the_window_in_both_schemes(
    plain_server: Served, browser: Any, unique_name: str, scheme: str, width: int, background: str
) -> None:
    api = plain_server.api()
    service = api.create_image_service(f"{unique_name}-{width}", "127.0.0.1:5000/berth-test/absent:v0")
    deployment = api.start(service["id"], reason="a reason long enough to wrap on a narrow screen " * 3)
    context = browser.new_context(viewport={"width": width, "height": 800}, color_scheme=scheme)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        page.on("pageerror", lambda error: errors.append(str(error)))

        open_page(page, plain_server.url + "/", page.get_by_label("API token"))  # sign in by keyboard alone
        page.keyboard.press("Tab")
        expect(page.get_by_label("API token")).to_be_focused()
        page.keyboard.type(api.token)
        page.keyboard.press("Enter")
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == background

        routes = {
            "#/deployments": "Deployments",
            f"#/deployments/{deployment['id']}": "Steps",
            "#/services": "Services",
            f"#/services/{service['id']}": "Deploy",
            "#/servers": "Servers",
        }
        for route, heading in routes.items():
            page.goto(f"{plain_server.url}/{route}")
            expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            wide = page.evaluate(WIDER_THAN_THE_WINDOW) if overflow > 0 else []
            assert overflow <= 0, (route, overflow, wide)
        assert errors == []
    finally:
        context.close()
