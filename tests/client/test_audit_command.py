"""`berth audit` against `berth serve --no-runner`: the table names deployments as a person
reads them, the filters reach the server, --json prints the entries, and a credential
without audit:read is told so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from berth.client.commands.audit import parse_when
from berth.client.errors import UsageProblem
from tests.client.conftest import Served
from tests.client.support import Cli


def test_audit_lists_and_filters_what_was_done(queue_server: Served, queue_cli: Cli) -> None:
    queue_cli.json("deploy", "--image", "nginx:alpine", "--name", "web", "--project", "shop", "--detach")

    text = queue_cli.ok("audit").stdout
    header = text.splitlines()[0].split()
    assert header[:4] == ["AT", "ACTION", "OUTCOME", "ACTOR"]
    start = next(line for line in text.splitlines() if "deployment.start" in line)
    assert "OK" in start and "shop/production/web #1" in start

    entries = queue_cli.json("audit", "--action", "deployment.*", "--since", "1h")
    assert {e["action"] for e in entries} == {"deployment.start"}
    assert entries[0]["actor"]["subject"] and entries[0]["targetType"] == "Deployment"
    subject = entries[0]["actor"]["subject"]
    assert queue_cli.json("audit", "--subject", subject, "--action", "deployment.start") == entries
    assert queue_cli.json("audit", "--subject", "nobody-did-this") == []
    assert queue_cli.json("audit", "--since", "2999-01-01T00:00:00Z") == []

    operator = queue_cli.with_token(queue_server.token("operator", "no-audit"))
    refused = operator.run("audit")
    assert refused.code != 0 and "audit:read" in refused.stderr


def test_since_reads_iso_times_and_ages() -> None:
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert parse_when("2h", now) == now - timedelta(hours=2)
    assert parse_when("7d", now) == now - timedelta(days=7)
    assert parse_when("2026-12-01T10:00Z") == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert parse_when("2026-12-01T10:00") == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    with pytest.raises(UsageProblem, match="--since"):
        parse_when("yesterday")
