"""The client's pure parts: names, filters, error lines, the summary, the config file."""

from __future__ import annotations

import argparse
import stat
from pathlib import Path

import pytest

from berth.client import config
from berth.client.commands.deploy import default_name
from berth.client.commands.deployments import status_filter
from berth.client.errors import AuthProblem, InputProblem, UsageProblem
from berth.client.graphql_errors import raise_for_errors, raise_for_user_errors
from berth.client.health_flags import http_check
from berth.client.progress import Progress, summary
from berth.client.table import side_by_side


def args(**given: str | None) -> argparse.Namespace:
    return argparse.Namespace(**{"image": None, "repo": None, "compose": None, **given})


def test_default_service_names() -> None:
    assert default_name(args(image="nginx:alpine")) == "nginx"
    assert default_name(args(image="127.0.0.1:5000/team/My_App@sha256:" + "a" * 64)) == "my-app"
    assert default_name(args(repo="https://github.com/org/shop.git")) == "shop"
    assert default_name(args(compose="/srv/Blog/compose.yaml")) == "blog"
    with pytest.raises(UsageProblem):
        default_name(args(image="___"))
    assert http_check("8080") == {"kind": "HTTP", "port": 8080, "path": "/"}


def test_status_filter_splits_statuses_and_conclusions() -> None:
    assert status_filter(["running", "queued,skipped"]) == {
        "status": ["PREPARE", "DEPLOY", "FINALIZE", "QUEUED"],
        "conclusion": ["SKIPPED"],
    }
    assert status_filter(None) == {}


def test_errors_name_the_scope_and_the_flag() -> None:
    forbidden = {"message": "x", "path": ["startDeployment"],
                 "extensions": {"code": "FORBIDDEN", "requiredScopes": ["deploy:start"], "missingScopes": ["deploy:start"]}}  # fmt: skip
    with pytest.raises(AuthProblem, match="startDeployment needs scope deploy:start"):
        raise_for_errors([forbidden], "http://berth")
    # A missing scope on a nested nullable edge costs that edge only.
    raise_for_errors([{**forbidden, "path": ["deployments", "nodes", 0, "service"]}], "http://berth")
    errors = [
        {"code": "INVALID_INPUT", "message": "port must be …", "field": ["input", "source", "ports", "1"]},
        {"code": "INVALID_INPUT", "message": "bad", "field": ["input", "healthCheck", "port"]},
    ]
    flags = {"input.source.ports": "--port", "input.healthCheck": "--health-http"}
    with pytest.raises(InputProblem, match=r"^--port \(#2\): port must be …; --health-http: bad$"):
        raise_for_user_errors(errors, flags)


def test_summary_of_a_failure_names_the_step_and_the_whole_error() -> None:
    record = {
        "id": "D1", "number": 3, "status": "FAILED", "conclusion": "FAILED",
        "createdAt": "2026-01-01T00:00:00+00:00", "concludedAt": "2026-01-01T00:01:05+00:00",
        "error": {"step": "HEALTH", "code": "HEALTH_FAILED", "message": "not healthy\nlast: boom"},
        "steps": [], "service": {"name": "web"},
    }  # fmt: skip
    lines = summary(record, Progress.of(record))
    assert lines == [
        "deployment #3 FAILED at HEALTH after 1m05s: HEALTH_FAILED: not healthy",
        "    last: boom",
    ]


def test_side_by_side_falls_back_to_stacked_when_narrow() -> None:
    wide = side_by_side([("A", "a: 1"), ("B", "b: 2"), ("C", "c: 3")], width=120)
    assert wide.splitlines()[0].split() == ["A", "B", "C"]
    narrow = side_by_side([("A", "a: 1"), ("B", "b: 2"), ("C", "c: 3")], width=60)
    assert narrow.splitlines()[:3] == ["A", "-", "a: 1"]


def test_config_file_is_owner_only_and_env_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "conf" / "berth.json"
    monkeypatch.setenv("BERTH_CONFIG", str(path))
    monkeypatch.delenv("BERTH_URL", raising=False)
    monkeypatch.delenv("BERTH_TOKEN", raising=False)
    assert config.load() == config.ClientConfig(url=config.DEFAULT_URL, token=None)
    config.save("https://berth.example:8443", "berth_pat_secret")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = config.load()
    assert (loaded.url, loaded.token, loaded.ws_url) == (
        "https://berth.example:8443", "berth_pat_secret", "wss://berth.example:8443/graphql",
    )  # fmt: skip
    monkeypatch.setenv("BERTH_URL", "http://other:8000/graphql/")
    monkeypatch.setenv("BERTH_TOKEN", "berth_pat_env")
    assert config.load() == config.ClientConfig(url="http://other:8000", token="berth_pat_env")
    monkeypatch.setenv("BERTH_URL", "ftp://nope")
    with pytest.raises(UsageProblem, match="BERTH_URL"):
        config.load()
    path.write_text("{not json")
    monkeypatch.delenv("BERTH_URL")
    with pytest.raises(UsageProblem, match="not valid JSON"):
        config.load()
