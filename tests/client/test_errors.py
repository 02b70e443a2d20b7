"""Errors are one clear line with an exit code, never a traceback (and no server needed for most)."""

from __future__ import annotations

from pathlib import Path

from tests.client.conftest import Served
from tests.client.support import Cli
from tests.support.live_server import free_port


def offline_cli(tmp_path: Path, token: str | None = "berth_pat_x") -> Cli:
    return Cli(url=f"http://127.0.0.1:{free_port()}", token=token, config_dir=tmp_path)


def test_unreachable_server_is_one_line_naming_the_url(tmp_path: Path) -> None:
    cli = offline_cli(tmp_path)
    for args in (["deployments"], ["deploy", "--service", "web"], ["logs", "RGVwbG95bWVudDox", "-f"],
                 ["show", "RGVwbG95bWVudDox"], ["cancel", "RGVwbG95bWVudDox"], ["rollback", "web"]):  # fmt: skip
        result = cli.run(*args)
        assert result.code == 5, (args, result)
        line = result.assert_one_line_error()
        assert f"server unreachable at {cli.url}" in line, line


def test_usage_errors_exit_3_with_one_line(tmp_path: Path) -> None:
    cli = offline_cli(tmp_path)
    cases = {
        ("deploy",): "one of --service, --image, --compose or --repo",
        ("deploy", "--service", "web", "--image", "nginx:alpine"): "(got --service, --image)",
        ("deploy", "--service", "web", "--port", "80"): "--port only apply with --image",
        ("deploy", "--image", "nginx:alpine", "--env", "NOVALUE"): "--env: expected KEY=VALUE",
        ("deploy", "--image", "nginx:alpine", "--health-http", "http"): "--health-http: expected PORT:PATH",
        ("deploy", "--image", "nginx:alpine", "--health-tcp", "http"): "--health-tcp: expected a port",
        ("deploy", "--image", "nginx:alpine", "--health-http", "99999:/"): "--health-http: expected a port",
        ("deploy", "--image", "n", "--health-http", "80:/", "--health-docker"): "not --health-http and --health-docker",
        ("deploy", "--image", "nginx:alpine", "--health-timeout", "5"): "--health-timeout needs a health check",
        ("deploy", "--image", "n", "--health-tcp", "80", "--expect-status", "200"): "--expect-status applies to",
        ("deploy", "--image", "n", "--health-http", "80", "--expect-status", "99"): "--expect-status: expected HTTP",
        ("deploy", "--image", "n", "--health-http", "80", "--expect-status", "299-200"): "ends before it starts",
        ("deploy", "--image", "n", "--health-docker", "--health-timeout", "0"): "--health-timeout: expected",
        ("deploy", "--image", "n", "--health-docker", "--health-interval", "9", "--health-timeout", "5"):
            "--health-interval must not exceed --health-timeout",
        ("deploy", "--service", "web", "--no-auto-rollback"): "--no-auto-rollback only apply with",
        ("service", "delete", "a/b"): "NAME: expected project/environment/service",
        ("token", "revoke"): "the following arguments are required: ID|NAME",
        ("deploy", "--compose", str(tmp_path / "missing.yaml")): "--compose: cannot read",
        ("deploy", "--service", "web", "--bogus"): "unrecognized arguments: --bogus",
        ("deployments", "--limit", "500"): "--limit: must be between 1 and 100",
        ("deployments", "--status", "sideways"): "--status: unknown status 'SIDEWAYS'",
        ("logs",): "the following arguments are required: ID",
    }
    for args, expected in cases.items():
        result = cli.run(*args)
        assert result.code == 3, (args, result)
        assert "Traceback" not in result.stderr
        assert expected in result.stderr, (args, result.stderr)
        assert not result.stdout


def test_no_credential_is_exit_3(tmp_path: Path) -> None:
    result = offline_cli(tmp_path, token=None).run("deployments")
    assert result.code == 3
    assert "no credential" in result.assert_one_line_error()
    assert "berth login" in result.stderr


def test_missing_scope_and_bad_input_are_one_line_exit_3(queue_server: Served, queue_cli: Cli) -> None:
    created = queue_cli.json("deploy", "--image", "nginx:alpine", "--name", "web", "--detach")
    viewer = queue_cli.with_token(queue_server.token("viewer", "look-only"))

    refused = viewer.run("deploy", "--service", "web")
    assert refused.code == 3
    line = refused.assert_one_line_error()
    assert "deploy:start" in line and "permission denied" in line, line

    # A narrow token without service:read cannot look names up, yet the scope it lacks is named.
    narrow = queue_cli.with_token(queue_server.token("developer", "narrow", "deploy:read"))
    refused = narrow.run("deploy", "--service", created["service"]["id"])
    assert refused.code == 3
    assert "deploy:start" in refused.assert_one_line_error()

    bad_token = queue_cli.with_token("berth_pat_" + "x" * 43)
    refused = bad_token.run("deployments")
    assert refused.code == 3
    assert f"credential refused by {queue_cli.url}" in refused.assert_one_line_error()

    # The server's INVALID_INPUT names the field; the CLI names the flag it came from.
    invalid = queue_cli.run("deploy", "--image", "Not An Image!", "--name", "web2")
    assert invalid.code == 3
    assert invalid.assert_one_line_error().startswith("berth: --image: ")
    invalid = queue_cli.run(
        "deploy", "--image", "nginx:alpine", "--name", "web3", "--port", "80", "--port", "99999"
    )
    assert invalid.code == 3
    assert invalid.assert_one_line_error().startswith("berth: --port (#2): ")
    invalid = queue_cli.run("deploy", "--service", "web", "--tag", "no tag!")
    assert invalid.code == 3
    assert invalid.assert_one_line_error().startswith("berth: --tag: ")
    missing = queue_cli.run("show", "RGVwbG95bWVudDo5OTk")
    assert missing.code == 3
    assert "no deployment" in missing.assert_one_line_error().lower()
    # Nothing was queued by any of the refused calls.
    assert [d["id"] for d in queue_cli.json("deployments")] == [created["id"]]
