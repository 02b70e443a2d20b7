"""The long lists: the deployments table pages by cursor; the logs panel filters by step,
stream and text, pauses and follows, keeps only the rows in view in the page and a bounded
number of lines in memory. The deployments stay QUEUED (no runner); the test stores log lines."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from berth.models.enums import LogStream, StepKind

from .conftest import Browsing, Served
from .support import sign_in
from .test_logs_resume import append_entries


def row_numbers(page: Any) -> list[int]:
    texts: list[str] = page.locator("table.deployments tbody tr td:nth-child(2)").all_inner_texts()
    return [int(text.strip().lstrip("#")) for text in texts]


def test_the_deployments_table_pages_by_cursor(queue_server: Served, browsing: Browsing, unique_name: str) -> None:
    api = queue_server.api()
    service = api.create_image_service(unique_name, "registry.example.test/app:v1")
    for _ in range(30):  # each supersedes the one waiting before it: 30 records
        api.start(service["id"])
    page = browsing.page
    sign_in(page, queue_server.url, api.token)
    page.get_by_label("Service").select_option(label=f"{unique_name}/production/{unique_name}")
    expect(page.get_by_text("30 deployments", exact=True)).to_be_visible()
    newer, older = page.get_by_role("button", name="Newer"), page.get_by_role("button", name="Older")
    expect(page.locator("table.deployments tbody tr")).to_have_count(25)
    assert row_numbers(page) == list(range(30, 5, -1))
    expect(newer).to_be_disabled()

    older.click()
    expect(page.locator("table.deployments tbody tr")).to_have_count(5)
    assert row_numbers(page) == [5, 4, 3, 2, 1]
    expect(older).to_be_disabled()

    newer.click()
    expect(page.locator("table.deployments tbody tr")).to_have_count(25)
    assert row_numbers(page) == list(range(30, 5, -1))
    expect(newer).to_be_disabled()


def rendered_seqs(page: Any) -> list[int]:
    values: list[str] = page.locator(".log-row").evaluate_all("rows => rows.map((row) => row.dataset.seq)")
    return [int(value) for value in values]


def test_log_filters_pause_follow_and_bounds(queue_server: Served, browsing: Browsing, unique_name: str) -> None:
    api = queue_server.api()
    service = api.create_image_service(unique_name, "registry.example.test/app:v1")
    deployment = api.start(service["id"])
    entries = [
        (f"line {n:05}", LogStream.STDERR if n % 2 else LogStream.STDOUT, StepKind.PULL if n <= 1000 else StepKind.START)
        for n in range(1, 2001)
    ]
    append_entries(queue_server.database_url, deployment["id"], entries)

    page = browsing.page
    sign_in(page, queue_server.url, api.token)
    page.goto(f"{queue_server.url}/#/deployments/{deployment['id']}")
    status = page.locator(".log-status")
    expect(page.locator(".log-count")).to_have_text("2000 lines")
    expect(page.locator(".log-row").last).to_have_attribute("data-seq", "2000")  # following
    assert page.locator(".log-row").count() < 100  # only the rows in view (and a margin)

    page.get_by_role("button", name="Pause").click()
    viewport = page.get_by_role("log", name="Log lines")
    viewport.evaluate("(element) => { element.scrollTop = 0; }")
    expect(page.locator(".log-row").first).to_have_attribute("data-seq", "1")
    append_entries(queue_server.database_url, deployment["id"], [(f"late {n}", LogStream.SYSTEM, None) for n in range(10)])
    expect(page.locator(".log-count")).to_have_text("2010 lines")
    assert viewport.evaluate("(element) => element.scrollTop") == 0  # paused: the view stays
    page.get_by_role("button", name="Follow").click()
    expect(page.locator(".log-row").last).to_have_attribute("data-seq", "2010")

    page.get_by_label("Stream", exact=True).select_option("STDERR")
    expect(status).to_contain_text("1000 shown")
    page.get_by_label("Step", exact=True).select_option("START")
    expect(status).to_contain_text("500 shown")
    assert all(seq > 1000 and seq % 2 == 1 for seq in rendered_seqs(page))
    page.get_by_label("Search").fill("line 01999")
    expect(status).to_contain_text("1 shown")
    assert rendered_seqs(page) == [1999]

    # The store keeps the newest lines up to its limit, each once (here with a limit of 5).
    kept = page.evaluate(
        """async () => {
          const { LogStore } = await import("./static/dashboard/js/log-store.js");
          const store = new LogStore(5);
          const added = [1, 2, 3, 3, 4, 5, 6, 7, 8, 2].map((seq) => store.add({ seq }));
          store.trim();
          return { seqs: store.lines.map((line) => line.seq), dropped: store.dropped, added };
        }"""
    )
    assert kept == {
        "seqs": [4, 5, 6, 7, 8], "dropped": 3,
        "added": [True, True, True, False, True, True, True, True, True, False],
    }  # fmt: skip
