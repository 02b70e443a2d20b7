"""Real deployments through the CLI: `berth serve` with its embedded runner on the test
Docker daemon, the local registry's busybox app (see tests/docker_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

from tests.client.support import Cli, step_lines
from tests.docker_fixtures import APP_PORT, BusyboxImage, GitRepo, compose_yaml

DEPLOY_TIMEOUT = 120.0
STEPS = ("CLONE", "BUILD", "PULL", "VOLUME", "START", "HEALTH", "FINALIZE")


def assert_succeeded(result_stdout: str, skipped: set[str]) -> None:
    steps = step_lines(result_stdout)
    for kind in STEPS:
        expected = ["skipped"] if kind in skipped else ["running", "succeeded"]
        assert steps[kind] == expected, (kind, result_stdout)


def test_image_deploy_then_tag_then_rollback(
    runner_cli: Cli, busybox_image: BusyboxImage, unique_name: str, docker_cleanup: list[str]
) -> None:
    docker_cleanup.append(unique_name)
    first = runner_cli.run(
        "deploy", "--image", busybox_image.ref("v1"), "--name", unique_name, "--project", unique_name,
        "--port", f"127.0.0.1::{APP_PORT}", "--health-http", f"{APP_PORT}:/index.html", "--follow",
        timeout=DEPLOY_TIMEOUT,
    )  # fmt: skip
    assert first.code == 0, first
    assert_succeeded(first.stdout, {"CLONE", "BUILD"})
    assert "deployment #1 SUCCEEDED" in first.stdout
    assert "| berth-test-app v1 listening" in first.stdout  # --follow: the container's output

    second = runner_cli.run(
        "deploy", "--service", unique_name, "--tag", "v2", "--json", timeout=DEPLOY_TIMEOUT
    )
    assert second.code == 0, second
    record = second.json()
    assert record["number"] == 2 and record["conclusion"] == "SUCCEEDED"
    assert record["input"]["imageTag"] == "v2" and record["input"]["imageDigest"] == busybox_image.digest(
        "v2"
    )

    back = runner_cli.run("rollback", unique_name, "--reason", "v2 is bad", "--json", timeout=DEPLOY_TIMEOUT)
    assert back.code == 0, back
    rolled = back.json()
    assert rolled["number"] == 3 and rolled["conclusion"] == "SUCCEEDED"
    assert rolled["rollbackOf"]["number"] == 1
    assert rolled["input"]["imageDigest"] == busybox_image.digest("v1")


def test_compose_file_deploy(
    runner_cli: Cli, busybox_image: BusyboxImage, unique_name: str, tmp_path: Path, docker_cleanup: list[str]
) -> None:
    docker_cleanup.append(unique_name)
    compose = tmp_path / unique_name / "compose.yaml"
    compose.parent.mkdir()
    compose.write_text(compose_yaml(busybox_image.ref("v1")))
    result = runner_cli.run(
        "deploy", "--compose", str(compose), "--project", unique_name, timeout=DEPLOY_TIMEOUT
    )
    assert result.code == 0, result
    assert f"created service {unique_name}/production/{unique_name} on server local" in result.stdout
    assert_succeeded(result.stdout, {"CLONE", "BUILD"})
    assert "deployment #1 SUCCEEDED" in result.stdout


def test_repository_deploys_dockerfile_and_compose(
    runner_cli: Cli, git_repo: GitRepo, unique_name: str, docker_cleanup: list[str]
) -> None:
    docker_cleanup.append(unique_name)
    built = runner_cli.run(
        "deploy", "--repo", git_repo.url, "--ref", "main", "--name", f"{unique_name}-img",
        "--project", unique_name, "--port", f"127.0.0.1::{APP_PORT}", "--json",
        timeout=DEPLOY_TIMEOUT,
    )  # fmt: skip
    assert built.code == 0, built
    record = built.json()
    assert record["conclusion"] == "SUCCEEDED" and record["input"]["commitSha"] == git_repo.head_sha()
    assert [s["status"] for s in record["steps"]][:3] == ["SUCCEEDED", "SUCCEEDED", "SKIPPED"]

    composed = runner_cli.run(
        "deploy", "--repo", git_repo.url, "--compose", "compose.yaml", "--name", f"{unique_name}-compose",
        "--project", unique_name, timeout=DEPLOY_TIMEOUT,
    )  # fmt: skip
    assert composed.code == 0, composed
    assert step_lines(composed.stdout)["CLONE"] == ["running", "succeeded"]
    assert "deployment #1 SUCCEEDED" in composed.stdout


def test_failing_deploy_exits_1_with_the_step_and_error(
    runner_cli: Cli, busybox_image: BusyboxImage, unique_name: str, docker_cleanup: list[str]
) -> None:
    docker_cleanup.append(unique_name)
    missing = f"{busybox_image.repo}:no-such-tag"
    result = runner_cli.run("deploy", "--image", missing, "--name", unique_name, timeout=DEPLOY_TIMEOUT)
    assert result.code == 1, result
    steps = step_lines(result.stdout)
    assert steps["PULL"][-1] == "failed" and steps["START"] == ["skipped"]
    summary = [line for line in result.stdout.splitlines() if line.startswith("deployment #1 FAILED")]
    assert len(summary) == 1, result.stdout
    assert "at PULL" in summary[0] and "PULL_FAILED" in summary[0] and "no-such-tag" in summary[0]


def test_ctrl_c_during_a_running_deploy_cancels_it(
    runner_cli: Cli, busybox_image: BusyboxImage, unique_name: str, docker_cleanup: list[str]
) -> None:
    docker_cleanup.append(unique_name)
    # The app answers 404 on /missing: HEALTH keeps probing until it is canceled.
    follower = runner_cli.start(
        "deploy", "--image", busybox_image.ref("v1"), "--name", unique_name,
        "--port", f"127.0.0.1::{APP_PORT}", "--health-http", f"{APP_PORT}:/missing", "--cancel-on-interrupt",
    )  # fmt: skip
    follower.wait_for("  HEALTH    running", timeout=DEPLOY_TIMEOUT)
    follower.interrupt()
    result = follower.finish(timeout=DEPLOY_TIMEOUT)
    assert result.code == 2, result
    assert "cancel requested" in result.stdout
    assert step_lines(result.stdout)["HEALTH"] == ["running", "canceled"]
    record = runner_cli.json("deployments", "--service", unique_name)[0]
    assert (record["status"], record["conclusion"], record["error"]["code"]) == (
        "FAILED",
        "CANCELED",
        "CANCELED",
    )
