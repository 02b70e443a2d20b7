"""The logs panel after the WebSocket drops: it resumes from the last line it received
(afterSeq), so every line shows exactly once, in order. The deployment stays QUEUED (no
runner); the test stores its log lines as a runner would (PostgreSQL wakes the server)."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import expect

from berth.ids import from_global_id
from berth.models.enums import LogStream, StepKind
from berth.models.lifecycle import LogEntry, append_logs
from tests.support.orm import run_with_orm

from .conftest import Browsing, Served, off_thread
from .support import sign_in


def append_entries(
    database_url: str, deployment_id: str, entries: list[tuple[str, LogStream, StepKind | None]]
) -> None:
    """Store log lines (text, stream, step) for a deployment, as a runner would."""
    decoded = from_global_id(deployment_id)
    assert decoded is not None, deployment_id

    async def append() -> int:
        return await append_logs(decoded[1], [LogEntry(text, stream, step) for text, stream, step in entries])

    off_thread(run_with_orm, database_url, append)


def append_lines(database_url: str, deployment_id: str, texts: list[str]) -> None:
    append_entries(database_url, deployment_id, [(text, LogStream.SYSTEM, None) for text in texts])


def rendered_seqs(page: Any) -> list[int]:
    values: list[str] = page.locator(".log-row").evaluate_all("rows => rows.map((row) => row.dataset.seq)")
    return [int(value) for value in values]


def test_logs_resume_without_gap_or_duplicate_after_the_socket_drops(
    queue_server: Served, browsing: Browsing, unique_name: str
) -> None:
    api = queue_server.api()
    service = api.create_image_service(unique_name, "registry.example.test/app:v1")
    deployment = api.start(service["id"])

    # Every WebSocket of the page goes through this route, which the test can cut; it keeps
    # the afterSeq of each log subscription (deploymentLogBatches) the page sends.
    sockets: list[Any] = []
    log_subscriptions: list[int | None] = []

    def through(socket: Any) -> None:
        server = socket.connect_to_server()

        def to_server(message: str | bytes) -> None:
            parsed = json.loads(message)
            if parsed.get("type") == "subscribe" and "deploymentLogBatches" in parsed["payload"]["query"]:
                log_subscriptions.append(parsed["payload"]["variables"]["afterSeq"])
            server.send(message)

        socket.on_message(to_server)
        sockets.append(socket)

    page = browsing.page
    page.route_web_socket("**/graphql", through)
    sign_in(page, queue_server.url, api.token)
    page.goto(f"{queue_server.url}/#/deployments/{deployment['id']}")
    count = page.locator(".log-count")
    expect(count).to_have_text("0 lines")

    append_lines(queue_server.database_url, deployment["id"], [f"before the drop {n:03}" for n in range(1, 31)])
    expect(count).to_have_text("30 lines")
    assert rendered_seqs(page)[-1] == 30

    opened = len(sockets)
    for socket in sockets:
        socket.close(code=1001, reason="going away")
    # Lines stored while the page is reconnecting, and after.
    append_lines(queue_server.database_url, deployment["id"], [f"after the drop {n:03}" for n in range(31, 46)])
    expect(page.locator(".log-status")).to_contain_text("reconnected")
    append_lines(queue_server.database_url, deployment["id"], [f"after the drop {n:03}" for n in range(46, 61)])
    expect(count).to_have_text("60 lines")
    expect(page.locator(".log-status")).to_contain_text("up to #60")
    assert len(sockets) > opened  # it did come back through a new connection
    assert log_subscriptions == [None, 30]  # from the start, then after the last line received

    # 60 lines received, the last one #60, each kept once in order: none missing, none twice.
    seqs = rendered_seqs(page)
    assert seqs == list(range(seqs[0], 61)), seqs
    page.get_by_label("Search").fill("after the drop 031")
    expect(page.locator(".log-status")).to_contain_text("1 shown")
    assert rendered_seqs(page) == [31]
    page.get_by_label("Search").fill("drop")
    expect(page.locator(".log-status")).not_to_contain_text("shown")
