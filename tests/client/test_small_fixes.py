"""`berth logs` without logs:read, `berth cancel`'s exit code, `berth token create`'s output,
and durations that agree between `berth deployments` and `berth show`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from berth.client.commands.deployments import row
from berth.client.commands.show import describe
from tests.client.conftest import Served
from tests.client.support import Cli
from tests.support.live_server import TEST_SECRET_KEY


def test_logs_without_logs_read_explains_and_exits_3(queue_server: Served, queue_cli: Cli) -> None:
    deployment = queue_cli.json("deploy", "--image", "nginx:alpine", "--name", "web", "--detach")
    viewer = queue_cli.with_token(queue_server.token("viewer", "no-logs"))  # deploy:read, no logs:read
    for args in (["logs", deployment["id"]], ["logs", deployment["id"], "-f"]):
        result = viewer.run(*args)
        assert result.code == 3, (args, result)
        line = result.assert_one_line_error()
        assert "logs:read" in line and "permission denied" in line, line
        assert not result.stdout


def test_a_successful_cancel_exits_0(queue_cli: Cli) -> None:
    deployment = queue_cli.json("deploy", "--image", "nginx:alpine", "--name", "web", "--detach")
    result = queue_cli.run("cancel", deployment["id"], "--reason", "not today")
    assert result.code == 0, result
    assert "CANCELED" in result.stdout
    assert queue_cli.json("show", deployment["id"])["conclusion"] == "CANCELED"


def test_token_create_prints_the_token_alone(tmp_path: Path) -> None:
    env = {**os.environ, "BERTH_DATA_DIR": str(tmp_path / "data"), "BERTH_SECRET_KEY": TEST_SECRET_KEY}
    env.pop("BERTH_DATABASE_URL", None)  # a fresh SQLite database: the migrations run too
    proc = subprocess.run(
        [sys.executable, "-m", "berth", "token", "create", "--name", "ci", "--role", "agent"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc
    assert proc.stdout.count("\n") == 1 and proc.stdout.startswith("berth_pat_"), proc.stdout
    assert proc.stderr == "", proc.stderr


def record(**times: str | None) -> dict[str, object]:
    return {
        "id": "RGVwbG95bWVudDox", "number": 1, "status": "COMPLETED", "conclusion": "SUCCEEDED",
        "trigger": "API", "actor": {}, "input": {"sourceType": "IMAGE", "image": "nginx"},
        "createdAt": "2026-01-01T10:00:00+00:00", "startedAt": None, "concludedAt": None, **times,
    }  # fmt: skip


def test_durations_agree_between_deployments_and_show() -> None:
    ran = record(startedAt="2026-01-01T10:01:00+00:00", concludedAt="2026-01-01T10:01:12.5+00:00")
    took_column = row(ran)[7]
    assert took_column == "12.5s"  # from the start, not from the creation (a minute in the queue)
    assert f"took:        {took_column}" in describe(ran)
    never_started = record(status="FAILED", conclusion="CANCELED", concludedAt="2026-01-01T10:05:00+00:00")
    assert row(never_started)[7] == ""
    assert "took:" not in describe(never_started)
