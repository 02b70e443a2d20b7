"""`berth prune [--dry-run]` on a server's database, and `berth logs` on a deployment whose
lines retention removed (a note on stderr, the record still there)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from berth.models import Deployment, LogLine
from berth.schema.ids import from_global_id
from tests.client.conftest import Served, append_lines
from tests.client.support import Cli
from tests.support.orm import run_with_orm

CHECKOUT = Path(__file__).resolve().parents[2]


def server_command(served: Served, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "berth", *args], env={**os.environ, **served.server.env, **env},
                          capture_output=True, text=True, timeout=120, cwd=CHECKOUT)


def test_prune_dry_run_then_prune_then_logs_say_why(queue_server: Served, queue_cli: Cli) -> None:
    # The `berth` script imports the checkout under test, wherever the package is installed from.
    queue_cli.extra_env["PYTHONPATH"] = str(CHECKOUT)
    deployment = queue_cli.json("deploy", "--image", "nginx:alpine", "--name", "web", "--detach")
    url = queue_server.database_url
    append_lines(url, deployment["id"], [f"line {n}" for n in range(1, 36)])
    queue_cli.ok("cancel", deployment["id"], "--detach")  # concluded
    pk = from_global_id(deployment["id"])[1]  # type: ignore[index]

    async def age() -> None:  # concluded 40 days ago, as far as retention can tell
        row = await Deployment.get(id=pk)
        assert row.concluded_at is not None
        await Deployment.filter(id=pk).update(concluded_at=row.concluded_at - timedelta(days=40))

    run_with_orm(url, age)

    async def lines() -> int:
        return await LogLine.filter(deployment_id=pk).count()

    dry = server_command(queue_server, "prune", "--dry-run", "--no-images")
    assert dry.returncode == 0, dry.stderr
    assert "dry run: nothing is removed" in dry.stdout
    assert "log lines: 35 would go (of deployments concluded older than 30 days" in dry.stdout
    assert run_with_orm(url, lines) == 35

    done = server_command(queue_server, "prune", "--no-images", BERTH_RETENTION_BATCH="10")
    assert done.returncode == 0, done.stderr
    assert "log lines: removed 35 (of deployments concluded older than 30 days" in done.stdout
    assert "log lines: 35 removed (4 batches)" in done.stderr  # the progress line
    assert run_with_orm(url, lines) == 0

    logs = queue_cli.run("logs", deployment["id"])
    assert logs.code == 0, logs
    assert logs.stdout == ""
    assert "were removed by retention at" in logs.stderr and "BERTH_RETENTION_LOG_DAYS" in logs.stderr
    # Following replays what is stored (nothing) and completes: the deployment concluded.
    followed = queue_cli.run("logs", deployment["id"], "-f")
    assert (followed.code, followed.stdout) == (0, ""), followed
    assert "were removed by retention at" in followed.stderr
    shown = queue_cli.ok("show", deployment["id"]).stdout
    assert "web" in shown  # the record is still there


def test_a_bad_retention_setting_is_named(queue_server: Served) -> None:
    result = server_command(queue_server, "prune", "--dry-run", BERTH_RETENTION_LOG_DAYS="thirty")
    assert result.returncode == 3
    assert result.stderr.strip() == (
        "berth: BERTH_RETENTION_LOG_DAYS must be a whole number (0 keeps forever), not 'thirty'")
    result = server_command(queue_server, "prune", "--dry-run", BERTH_RETENTION_IMAGES="-1")
    assert result.returncode == 3 and "BERTH_RETENTION_IMAGES must be between 0 and 1000" in result.stderr
