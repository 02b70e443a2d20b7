"""`berth show`: reasons (start, cancel, rollback) and deployments named by place, never row id."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from berth.client.commands.show import describe
from berth.domain.names import artifact_file_name, deployment_file_name, deployment_name
from tests.client.support import Cli


def record(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "RGVwbG95bWVudDo0Mg", "number": 3, "status": "QUEUED", "conclusion": None,
        "trigger": "API", "actor": {"tokenName": "ci", "role": "OWNER", "tokenKind": "API_TOKEN"},
        "project": {"name": "shop"}, "environment": {"name": "production"}, "service": {"name": "web"},
        "server": {"name": "local"}, "steps": [], "createdAt": None, "concludedAt": None,
    }  # fmt: skip
    return {**base, **fields}


def fact(text: str, name: str) -> str:
    [line] = [line for line in text.splitlines() if line.startswith(f"{name}:")]
    return line[len(name) + 1 :].strip()


def test_a_rollback_shows_its_reason_and_the_deployment_it_returns_to() -> None:
    text = describe(record(reason="bad\nrelease", rollbackOf={"id": "RGVwbG95bWVudDoxNw", "number": 1}))
    assert fact(text, "deployment").startswith("shop/production/web #3")
    assert fact(text, "rollback of") == "shop/production/web #1"
    assert fact(text, "reason") == "bad release"
    assert "17" not in fact(text, "rollback of")  # the replayed deployment's row id


def test_a_cancel_shows_its_reason() -> None:
    text = describe(record(cancelRequestedAt="2026-01-02T03:04:05+00:00", cancelReason="wrong tag"))
    assert fact(text, "canceled").endswith(": wrong tag")
    assert "canceled:" not in describe(record())


def test_names_and_file_names() -> None:
    assert deployment_name("shop", "production", "web", 7) == "shop/production/web #7"
    assert deployment_name(None, None, "web", 7) == "?/?/web #7"
    assert deployment_file_name("shop", "production", "web", 7) == "shop_production_web_7.json"
    assert deployment_file_name("../x", "a b", None, 2) == "x_a-b_2.json"
    assert deployment_file_name(None, None, None, 2) == "deployment_2.json"
    document = {"number": 4, "project": {"name": "shop"}, "environment": {"name": "dev"},
                "service": {"redacted": "requires service:read"}}  # fmt: skip
    assert artifact_file_name(document) == "shop_dev_4.json"


def test_show_names_the_cancel_reason_and_saves_the_artifact_by_name(
    queue_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue_cli.ok("deploy", "--image", "nginx:alpine", "--name", "web", "--detach", "--reason", "first try")
    queued = queue_cli.json("deploy", "--service", "web", "--detach", "--reason", "second try")
    queue_cli.run("cancel", queued["id"], "--reason", "changed my mind", "--detach")
    text = queue_cli.ok("show", queued["id"]).stdout
    assert fact(text, "deployment").startswith("default/production/web #2")
    assert fact(text, "reason") == "second try"
    assert fact(text, "canceled").endswith(": changed my mind")

    monkeypatch.chdir(tmp_path)
    saved = queue_cli.ok("show", queued["id"], "--artifact").stdout
    assert "artifact saved to default_production_web_2.json" in saved
    artifact = json.loads((tmp_path / "default_production_web_2.json").read_text())
    assert artifact["cancelReason"] == "changed my mind" and artifact["number"] == 2
    assert not re.search(r"deployment[-_ ]\d", saved)
