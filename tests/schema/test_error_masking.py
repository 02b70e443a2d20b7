"""Unexpected errors are masked (CONTRACT §2): INTERNAL_SERVER_ERROR with a request id, no
stack trace or SQL in the response, and the traceback logged under that request id.

A resolver is made to fail by patching it, which needs the app in this process: it runs
in-process through Starlette's TestClient (lifespan included) on each database.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketTestSession
from tortoise.backends.base.executor import EXECUTOR_CACHE

from berth.app import create_app
from berth.settings import get_settings
from tests.conftest import Database

LEAK = "SELECT secret_column FROM hidden_table"


class Boom(RuntimeError):
    pass


@pytest.fixture
def app_client(database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    async def failing_node(info: Any, id: str) -> None:
        raise Boom(f"database exploded while running {LEAK}")

    # Query.node looks its resolver up in this module at call time.
    monkeypatch.setattr("berth.schema.query.resolve_node", failing_node)
    # Tortoise caches INSERT SQL per connection name; another dialect's must not be reused.
    EXECUTOR_CACHE.clear()
    with TestClient(create_app(get_settings())) as client:
        yield client


def assert_masked(body: dict[str, Any], text: str) -> str:
    assert body["data"] == {"node": None}, body
    assert len(body["errors"]) == 1, body
    error = body["errors"][0]
    assert error["message"] == "Internal server error."
    assert error["path"] == ["node"]
    assert set(error["extensions"]) == {"code", "requestId"}
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    request_id = error["extensions"]["requestId"]
    assert isinstance(request_id, str) and len(request_id) >= 8
    for leak in ("Traceback", "Boom", "exploded", LEAK, "berth/", ".py"):
        assert leak not in text, leak
    return str(request_id)


def receive(ws: WebSocketTestSession) -> dict[str, Any]:
    """The next protocol message, keep-alive pings aside."""
    while True:
        message: dict[str, Any] = ws.receive_json()
        if message.get("type") not in ("ping", "pong"):
            return message


def assert_logged(caplog: pytest.LogCaptureFixture, request_id: str) -> None:
    records = [r for r in caplog.records if request_id in r.getMessage()]
    assert records, caplog.text
    record = records[0]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None and isinstance(record.exc_info[1], Boom)
    assert "Traceback" in caplog.text and LEAK in caplog.text


def test_unexpected_error_over_http_is_masked_and_logged(
    app_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="berth")
    response = app_client.post("/graphql", json={"query": '{ node(id: "eA") { id } }'})
    assert response.status_code == 200
    request_id = assert_masked(response.json(), response.text)
    assert_logged(caplog, request_id)

    # Each request has its own id.
    again = app_client.post("/graphql", json={"query": '{ node(id: "eA") { id } }'})
    assert assert_masked(again.json(), again.text) != request_id


def test_unexpected_error_over_websocket_is_masked_and_logged(
    app_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="berth")
    with app_client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {}})
        assert receive(ws)["type"] == "connection_ack"
        request_ids = []
        for operation_id in ("1", "2"):
            ws.send_json(
                {"type": "subscribe", "id": operation_id, "payload": {"query": '{ node(id: "eA") { id } }'}}
            )
            message = receive(ws)
            assert message["type"] == "next", message
            request_ids.append(assert_masked(message["payload"], str(message)))
            assert receive(ws) == {"type": "complete", "id": operation_id}
    # Operations on one connection are separate requests, each logged under its own id.
    assert request_ids[0] != request_ids[1]
    for request_id in request_ids:
        assert_logged(caplog, request_id)


def test_expected_errors_are_not_masked(app_client: TestClient) -> None:
    """FORBIDDEN/UNAUTHENTICATED are answers, not incidents: they keep their code."""
    response = app_client.post("/graphql", json={"query": "{ viewer { subject } servers { id } }"})
    codes = sorted(e["extensions"]["code"] for e in response.json()["errors"])
    assert codes == ["UNAUTHENTICATED", "UNAUTHENTICATED"]
