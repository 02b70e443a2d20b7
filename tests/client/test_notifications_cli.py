"""`berth notifications list|create|delete|test|deliveries` against a live server with its
runner (and so its notification sender): the URL only ever from the environment, a WEBHOOK's
secret shown once, a test event delivered to a loopback receiver and signed with it."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.client.conftest import Served
from tests.client.support import Cli
from tests.support.status_receiver import StatusReceiver

CHECKOUT = Path(__file__).resolve().parents[2]


@pytest.fixture
def receiver() -> Iterator[StatusReceiver]:
    with StatusReceiver() as server:
        yield server


def create_project(served: Served, token: str, name: str) -> str:
    answer = httpx.post(f"{served.server.url}/graphql", headers={"Authorization": f"Bearer {token}"}, json={
        "query": "mutation($name: String!) { createProject(input: {name: $name}) { project { id } "
                 "errors { message } } }", "variables": {"name": name}}, timeout=30).json()
    return str(answer["data"]["createProject"]["project"]["id"])


def test_channels_from_create_to_a_signed_test_delivery(runner_server: Served, runner_cli: Cli,
                                                        receiver: StatusReceiver) -> None:
    runner_cli.extra_env["PYTHONPATH"] = str(CHECKOUT)  # the checkout under test, wherever berth is installed
    assert runner_cli.token is not None
    create_project(runner_server, runner_cli.token, "shop")
    assert runner_cli.ok("notifications").stdout.strip() == "no notification channels"

    # No URL on the command line: a missing variable is a usage error naming it.
    missing = runner_cli.run("notifications", "create", "--project", "shop", "--name", "alerts", "--kind", "webhook",
                             "--url-env", "ALERTS_URL")
    assert missing.code == 3
    assert "--url-env: environment variable ALERTS_URL is not set or empty" in missing.stderr

    runner_cli.extra_env["ALERTS_URL"] = f"{receiver.url}/hook"
    created = runner_cli.json("notifications", "create", "--project", "shop", "--name", "alerts", "--kind", "webhook",
                              "--url-env", "ALERTS_URL", "--event", "deployment.failed", "--event",
                              "deployment.rolled_back")
    assert created["name"] == "alerts" and created["kind"] == "WEBHOOK"
    assert created["events"] == ["deployment.failed", "deployment.rolled_back"]
    secret = created["secret"]
    assert isinstance(secret, str) and len(secret) == 43

    # A bad event is refused naming the flag; nothing is stored.
    refused = runner_cli.run("notifications", "create", "--project", "shop", "--name", "bad", "--kind", "slack",
                             "--url-env", "ALERTS_URL", "--event", "deployment.exploded")
    assert refused.code == 3 and refused.stderr.startswith("berth: --event: events must be among"), refused

    listed = runner_cli.ok("notifications", "list").stdout
    assert "alerts" in listed and "webhook" in listed and "deployment.failed, deployment.rolled_back" in listed
    assert receiver.url not in listed  # never shown
    assert [c["name"] for c in runner_cli.json("notifications", "list", "--project", "shop")] == ["alerts"]

    tested = runner_cli.ok("notifications", "test", created["id"]).stdout
    assert "queued a notification.test event to webhook channel 'alerts' of project shop" in tested
    [request] = receiver.wait_for(1)
    assert request.header("x-berth-event") == "notification.test"
    expected = hmac.new(secret.encode(), request.raw, hashlib.sha256).hexdigest()
    assert request.header("x-berth-signature-256") == f"sha256={expected}"

    deadline = time.monotonic() + 30
    while True:  # the sender records the answer right after it
        records = runner_cli.json("notifications", "deliveries", created["id"])
        if records and records[0]["status"] == "DELIVERED":
            break
        assert time.monotonic() < deadline, records
        time.sleep(0.2)
    assert records[0]["event"] == "notification.test" and records[0]["responseStatus"] == 201
    table = runner_cli.ok("notifications", "deliveries", created["id"]).stdout
    assert "notification.test" in table and "delivered" in table

    deleted = runner_cli.ok("notifications", "delete", created["id"]).stdout
    assert "deleted webhook channel 'alerts' of project shop" in deleted
    assert runner_cli.ok("notifications").stdout.strip() == "no notification channels"
    gone = runner_cli.run("notifications", "delete", created["id"])
    assert gone.code == 3 and "CHANNEL" in gone.stderr, gone
    assert json.dumps(runner_cli.json("notifications")) == "[]"
