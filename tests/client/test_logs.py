"""`berth logs ID -f` keeps going across a server restart without a lost or repeated line."""

from __future__ import annotations

import json

from tests.client.conftest import Served, append_lines
from tests.client.support import Cli


def lines(start: int, end: int) -> list[str]:
    return [f"line-{number:03d}" for number in range(start, end + 1)]


def test_logs_follow_resumes_after_a_server_restart(queue_server: Served, queue_cli: Cli) -> None:
    deployment = queue_cli.json("deploy", "--image", "nginx:alpine", "--name", "web", "--detach")
    url = queue_server.database_url
    append_lines(url, deployment["id"], lines(1, 5))

    follower = queue_cli.start("logs", deployment["id"], "-f")
    follower.wait_for("line-005\n")

    queue_server.server.stop()
    append_lines(url, deployment["id"], lines(6, 10))  # written while no server is there
    queue_server.server.start()
    follower.wait_for("line-010\n")
    follower.wait_for("reconnected", stream="stderr")

    append_lines(url, deployment["id"], lines(11, 15))  # written while following the new server
    queue_cli.ok("cancel", deployment["id"], "--detach")  # concludes it: the stream completes
    result = follower.finish()

    assert result.code == 0, result
    assert result.stdout.splitlines() == lines(1, 15)
    assert "lost" in result.stderr and "Traceback" not in result.stderr

    # Without -f the stored lines are printed once; --json gives their seq, gap-free.
    stored = queue_cli.run("logs", deployment["id"], "--json")
    assert stored.code == 0
    records = [json.loads(line) for line in stored.stdout.splitlines()]
    assert [r["seq"] for r in records] == list(range(1, 16))
    assert [r["text"] for r in records] == lines(1, 15)
    assert queue_cli.ok("logs", deployment["id"], "--after", "12").stdout.splitlines() == lines(13, 15)
