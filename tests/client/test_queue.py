"""Queueing, following, canceling and superseding against `berth serve --no-runner`:
deployments stay QUEUED until the CLI (or another one) moves them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.client.support import Cli, step_lines
from tests.support.polling import wait_until

ALL_SKIPPED = {
    kind: ["skipped"] for kind in ("CLONE", "BUILD", "PULL", "VOLUME", "START", "HEALTH", "FINALIZE")
}


def status_of(cli: Cli, deployment_id: str) -> tuple[str, str | None]:
    record = cli.json("show", deployment_id)
    return record["status"], record["conclusion"]


def test_detach_and_the_json_of_deploy_deployments_and_show(queue_cli: Cli, tmp_path: Path) -> None:
    compose = tmp_path / "shop" / "compose.yaml"
    compose.parent.mkdir()
    compose.write_text("services:\n  web:\n    image: nginx:alpine\n")

    image = queue_cli.json("deploy", "--image", "nginx:alpine", "--project", "demo", "--port", "127.0.0.1::80",
                           "--env", "MODE=test", "--secret", "TOKEN=hunter2", "--health-http", "80:/",
                           "--detach", "--reason", "first")  # fmt: skip
    assert image["status"] == "QUEUED" and image["conclusion"] is None
    assert image["service"]["name"] == "nginx" and image["project"]["name"] == "demo"
    assert image["environment"]["name"] == "production" and image["server"]["name"] == "local"
    assert image["input"]["image"] == "nginx" and image["input"]["imageTag"] == "alpine"
    assert image["queuePosition"] == 1 and len(image["steps"]) == 7

    shop = queue_cli.json("deploy", "--compose", str(compose), "--project", "demo", "--detach")
    assert shop["service"]["name"] == "shop" and shop["input"]["sourceType"] == "COMPOSE"
    # The same definition again updates the existing service (the text output says so).
    again = queue_cli.ok("deploy", "--image", "nginx:1.27", "--project", "demo", "--detach")
    assert "updated service demo/production/nginx on server local" in again.stdout
    assert "QUEUED" in again.stdout and "berth logs" in again.stdout

    listed = queue_cli.json("deployments")
    assert [d["id"] for d in listed][:2] == [d["id"] for d in (queue_cli.json("deployments", "--limit", "2"))]
    assert {d["service"]["name"] for d in listed} == {"nginx", "shop"}
    only_nginx = queue_cli.json("deployments", "--service", "nginx", "--status", "skipped,queued")
    assert [(d["number"], d["conclusion"]) for d in only_nginx] == [(2, None), (1, "SKIPPED")]
    table = queue_cli.ok("deployments", "--service", "nginx").stdout
    assert table.splitlines()[0].split()[:4] == ["ID", "#", "SERVICE", "STATUS"]
    assert "demo/production/nginx" in table and "SKIPPED" in table

    # The same idempotency key and input: the original deployment again, nothing new queued.
    keyed = queue_cli.json("deploy", "--service", "shop", "--idempotency-key", "k-1", "--detach")
    assert queue_cli.json("deploy", "--service", "shop", "--idempotency-key", "k-1", "--detach") == keyed
    reused = queue_cli.run("deploy", "--service", "shop", "--idempotency-key", "k-1", "--reason", "other")
    assert reused.code == 3 and reused.assert_one_line_error().startswith("berth: --idempotency-key: ")
    assert len(queue_cli.json("deployments", "--service", "shop")) == 2

    shown = queue_cli.json("show", image["id"])
    assert shown["id"] == image["id"] and shown["conclusion"] == "SKIPPED"
    declared = shown["declaredConfig"]
    assert declared["source"]["image"] == "nginx:alpine" and declared["source"]["ports"] == ["127.0.0.1::80"]
    assert "frozenInput" in shown and "lastObservedState" in shown
    assert "hunter2" not in json.dumps(shown)

    artifact_file = tmp_path / "artifact.json"
    text = queue_cli.ok("show", image["id"], "--artifact", str(artifact_file)).stdout
    assert "DECLARED CONFIG" in text and "FROZEN INPUT" in text and "LAST OBSERVED STATE" in text
    assert f"artifact saved to {artifact_file}" in text
    artifact = json.loads(artifact_file.read_text())
    assert artifact["id"] == image["id"] and artifact["conclusion"] == "SKIPPED"
    assert "hunter2" not in artifact_file.read_text()


def test_following_a_deployment_canceled_elsewhere_exits_2(queue_cli: Cli) -> None:
    queue_cli.ok("deploy", "--image", "nginx:alpine", "--name", "web", "--detach")
    follower = queue_cli.start("deploy", "--service", "web", "--reason", "follow me")
    follower.wait_for("deployment #2 of default/production/web")
    deployment_id = queue_cli.json("deployments", "--service", "web", "--status", "queued")[0]["id"]

    canceled = queue_cli.run("cancel", deployment_id, "--reason", "changed my mind")
    assert canceled.code == 0, canceled  # the cancel did what was asked; the follower's 2 says so
    assert "deployment #2 CANCELED" in canceled.stdout and "changed my mind" in canceled.stdout

    result = follower.finish()
    assert result.code == 2, result
    assert step_lines(result.stdout) == ALL_SKIPPED
    assert "deployment #2 CANCELED" in result.stdout and "changed my mind" in result.stdout
    assert status_of(queue_cli, deployment_id) == ("FAILED", "CANCELED")

    # Canceling a concluded deployment is refused with one line.
    refused = queue_cli.run("cancel", deployment_id, "--detach")
    assert refused.code == 3 and "concluded" in refused.assert_one_line_error()


def test_a_superseded_deployment_exits_4(queue_cli: Cli) -> None:
    first = queue_cli.json("deploy", "--image", "nginx:alpine", "--name", "api", "--detach")
    follower = queue_cli.start("deploy", "--service", first["service"]["id"], "--tag", "1.27", "--json")
    # --json prints nothing until the end: wait for its deployment through the API.
    wait_until(
        lambda: len(queue_cli.json("deployments", "--service", "api")) == 2, 30, "the 2nd deployment"
    )
    queued = queue_cli.json("deploy", "--service", "api", "--tag", "1.28", "--detach")  # supersedes the 2nd
    result = follower.finish()
    assert result.code == 4, result
    record = result.json()  # --json: only the record on stdout, no progress
    assert record["number"] == 2 and record["status"] == "COMPLETED" and record["conclusion"] == "SKIPPED"
    assert record["input"]["imageTag"] == "1.27"
    assert all(step["status"] == "SKIPPED" for step in record["steps"])
    assert queued["number"] == 3 and status_of(queue_cli, queued["id"]) == ("QUEUED", None)


def test_ctrl_c_with_cancel_on_interrupt_cancels(queue_cli: Cli) -> None:
    queue_cli.ok("deploy", "--image", "nginx:alpine", "--name", "web", "--detach")
    follower = queue_cli.start("deploy", "--service", "web", "--cancel-on-interrupt")
    follower.wait_for("deployment #2 of")
    follower.interrupt()
    result = follower.finish()
    assert result.code == 2, result
    assert "cancel requested" in result.stdout and "deployment #2 CANCELED" in result.stdout
    canceled = queue_cli.json("deployments", "--service", "web", "--status", "canceled")
    assert [(d["number"], d["error"]["code"]) for d in canceled] == [(2, "CANCELED")]


def test_ctrl_c_at_a_terminal_asks_whether_to_cancel(queue_cli: Cli) -> None:
    queue_cli.ok("deploy", "--image", "nginx:alpine", "--name", "web", "--detach")
    for answer, code in (("n\n", 130), ("y\n", 2)):
        follower = queue_cli.start("deploy", "--service", "web", tty=True)
        follower.wait_for(" · default/production/web · QUEUED")  # the live block, redrawn in place
        follower.interrupt()
        follower.wait_for("? [y/N] ", stream="stderr")
        follower.type(answer)
        result = follower.finish()
        assert result.code == code, result
        assert "Traceback" not in result.stderr
        number = int(result.stdout.split("deployment #", 1)[1].split()[0])
        record = [d for d in queue_cli.json("deployments", "--service", "web") if d["number"] == number][0]
        if answer == "n\n":
            assert "left running" in result.stderr and f"berth cancel {record['id']}" in result.stderr
            assert record["status"] == "QUEUED"
        else:
            assert f"deployment #{number} CANCELED" in result.stdout
            assert "\x1b[" in result.stdout  # the block was redrawn in place as the steps moved
            assert "– FINALIZE  skipped" in result.stdout
            assert record["conclusion"] == "CANCELED"
