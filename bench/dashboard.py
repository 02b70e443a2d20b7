"""7. Dashboard: from navigation to the first rows, and to the first log line, in a browser.

With 10,000 deployments seeded in bulk, Berth (runner stopped) serves the dashboard to
Debian's chromium driven by Playwright's async API (the test extras; no browser download).
Each sample is a fresh browser context (no cache), signed in before the page's scripts run
(the token put in sessionStorage by an init script), timed by the wall clock:

* rows — `page.goto("/#/deployments")` until the table's 25th row (a full first page) is
  in the DOM: the page, its modules, the viewer and the deployments query;
* first log line — `page.goto("/#/deployments/ID")` of a deployment that has not concluded
  (QUEUED, with 1,000 lines stored) until its first log row is in the DOM: the same, plus the deployment query and the
  `deploymentLogBatches` subscription's replay.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench.config import Plan
from bench.database import BenchDatabase, fresh_database, isolated, opened
from bench.load import graphql_request, post_json
from bench.seed import seed_deployments, seed_inventory
from bench.server import berth_server
from bench.stats import latency_summary

DEPLOYMENTS = 10_000
LOG_LINES = 1_000
PAGE_ROWS = 25  # the dashboard's page of deployments
NEWEST = "query { deployments(first: 1) { nodes { service { id } } } }"
START = "mutation($id: ID!) { startDeployment(input: {serviceId: $id}) { deployment { id } errors { message } } }"


async def store_lines(db: BenchDatabase, deployment_id: str, count: int) -> None:
    from berth.ids import from_global_id
    from berth.models.enums import LogStream, StepKind
    from berth.models.lifecycle import LogEntry, append_logs

    decoded = from_global_id(deployment_id)
    assert decoded is not None, deployment_id

    async def append() -> None:
        async with opened(db):
            await append_logs(decoded[1], [LogEntry(f"bench line {n:05}", LogStream.STDOUT, StepKind.START)
                                           for n in range(1, count + 1)])

    await isolated(append())


# Chromium aborts every request in flight when a network interface comes or goes (Docker adds
# one per container, so other work on the machine does it): a load it hit is not a sample.
NETWORK_CHANGED = "net::ERR_NETWORK_CHANGED"
MAX_DISCARDED = 10


async def one_load(browser: Any, url: str, token: str, route: str, ready: str) -> float | None:
    """Seconds from navigation to `ready` in the DOM, in a fresh context; None when the
    browser reported a network change that broke the load."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        await context.add_init_script(f"sessionStorage.setItem('berth.credential', {json.dumps(token)})")
        page = await context.new_page()
        said: list[str] = []
        page.on("console", lambda message: said.append(f"{message.type}: {message.text}"))
        began = time.perf_counter()
        await page.goto(url + "/" + route, wait_until="commit")
        try:
            await page.locator(ready).first.wait_for(state="attached", timeout=30_000)
        except Exception as exc:
            if any(NETWORK_CHANGED in line for line in said):
                return None
            text = (await page.locator("#app").inner_text())[:300]
            raise RuntimeError(f"{ready} not shown on {route}: page {text!r}; console {said[:5]}") from exc
        return time.perf_counter() - began
    finally:
        await context.close()


async def timed_loads(url: str, token: str, route: str, ready: str, samples: int) -> tuple[list[float], int]:
    """`samples` load times (after one to warm up) and how many loads were discarded."""
    from playwright.async_api import async_playwright

    chromium = os.environ.get("BERTH_TEST_CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        raise RuntimeError("chromium is not installed (Debian package `chromium`)")
    seconds: list[float] = []
    discarded = 0
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"], headless=True)
        try:
            while len(seconds) < samples + 1:  # the first one warms the server up and is not kept
                sample = await one_load(browser, url, token, route, ready)
                if sample is None:
                    discarded += 1
                    if discarded > MAX_DISCARDED:
                        raise RuntimeError(f"{discarded} loads of {route} hit a network change")
                    continue
                seconds.append(sample)
        finally:
            await browser.close()
    return seconds[1:], discarded


async def measure(plan: Plan, db: BenchDatabase, work: Path) -> dict[str, Any]:
    inv = await seed_inventory(db)
    began = time.monotonic()
    await seed_deployments(db, inv, DEPLOYMENTS - inv.seeded)
    print(f"   dashboard: {db.label}, seeded {DEPLOYMENTS:,} deployments in {time.monotonic() - began:.1f} s",
          file=sys.stderr)
    berth = berth_server(f"berth-dashboard-{db.dialect}", db.url, db.data_dir, work)
    # The browser's WebSocket is accepted from the server's public URL (as `berth serve` sets it).
    berth.env["BERTH_PUBLIC_URL"] = berth.url
    await berth.start()
    try:
        # A deployment that is still going (QUEUED: no runner) with its lines stored.
        answer = await post_json(berth.port, graphql_request(berth.port, NEWEST, {}, inv.token))
        service = answer["data"]["deployments"]["nodes"][0]["service"]["id"]
        started = await post_json(berth.port, graphql_request(berth.port, START, {"id": service}, inv.token))
        newest = started["data"]["startDeployment"]["deployment"]["id"]
        await store_lines(db, newest, LOG_LINES)
        samples = plan.extra.get("dashboard_samples", 5 if plan.quick else 15)
        rows, rows_discarded = await timed_loads(berth.url, inv.token, "#/deployments",
                                 f"table.deployments tbody tr:nth-child({PAGE_ROWS})", samples)
        logs, logs_discarded = await timed_loads(berth.url, inv.token, f"#/deployments/{newest}", ".log-row", samples)
        return {
            "database": db.label,
            "deployments": DEPLOYMENTS,
            "page_rows": PAGE_ROWS,
            "log_lines": LOG_LINES,
            "first_rows": latency_summary(rows),
            "first_log_line": latency_summary(logs),
            "loads_discarded_for_network_changes": rows_discarded + logs_discarded,
        }
    finally:
        berth.stop()


async def run(plan: Plan, work: Path) -> dict[str, Any]:
    results = []
    for dialect in plan.databases:
        async with fresh_database(dialect) as db:
            results.append(await measure(plan, db, work))
    return {"results": results}
