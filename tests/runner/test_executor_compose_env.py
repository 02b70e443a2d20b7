"""A COMPOSE service's env fills in `${VAR}` but never steers the compose process (real
compose, v1 and v2): a reserved name in a stored env — an older record, written here
directly because the API refuses it now — does not reach compose."""

from __future__ import annotations

from pathlib import Path

from berth.domain.specs import SourceSpec
from berth.models import Service
from tests.docker_fixtures import APP_PORT, BusyboxImage
from tests.runner.conftest import postgres_only
from tests.runner.executor_support import Harness
from tests.runner.test_compose_v2_executor import compose_v2  # noqa: F401 (fixture)
from tests.runner.test_executor_image import assert_succeeded
from tests.services import COMPOSE_V2_CONFIG


def _content(busybox_image: BusyboxImage) -> str:
    # `extra` would start only with its profile active (COMPOSE_PROFILES would activate it).
    return f"""\
services:
  web:
    image: {busybox_image.ref("v1")}
    environment:
      TOKEN: "${{API_TOKEN}}"
    ports:
      - "127.0.0.1::{APP_PORT}"
  extra:
    image: {busybox_image.ref("v1")}
    profiles: [extra]
"""


def _stored(values: dict[str, str]) -> list[dict[str, object]]:
    return [{"key": key, "secret": False, "value": value} for key, value in values.items()]


async def _deploy_with_stored_env(harness: Harness, busybox_image: BusyboxImage, env: dict[str, str],
                                  tmp_path: Path, marker: Path) -> Service:
    """Deploys with `env` (and compose's own variables) stored; `marker` is what the code
    a reserved variable would run writes."""
    service = await harness.service(SourceSpec(type="COMPOSE", compose_content=_content(busybox_image)))
    # A second file compose would read instead of ours, and a project name of its own.
    other = tmp_path / "other.yaml"
    other.write_text("services:\n  other:\n    image: busybox\n")
    stored = {"API_TOKEN": "tok-1", "COMPOSE_FILE": str(other), "COMPOSE_PROJECT_NAME": "hijacked",
              "COMPOSE_PROFILES": "extra", **env}
    await Service.filter(id=service.id).update(env=_stored(stored))
    deployment = await harness.deploy(service)
    assert not marker.exists()
    assert_succeeded(deployment)
    project = f"berth-{(await harness.project()).name}-production-{service.name}"
    containers = harness.containers(service, running_only=False)
    assert sorted(c.labels["com.docker.compose.service"] for c in containers) == ["web"]
    [web] = containers
    assert web.labels["com.docker.compose.project"] == project
    assert "TOKEN=tok-1" in web.attrs["Config"]["Env"]  # an unreserved variable still interpolates
    return service


@postgres_only
async def test_compose_v1_gets_no_reserved_variable_of_the_service(
    harness: Harness, busybox_image: BusyboxImage, tmp_path: Path
) -> None:
    # docker-compose v1 is Python: PYTHONPATH would run this file inside it.
    hook = tmp_path / "hook"
    hook.mkdir()
    marker = tmp_path / "python-hook-ran"
    (hook / "sitecustomize.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    await _deploy_with_stored_env(harness, busybox_image, {"PYTHONPATH": str(hook)}, tmp_path, marker)


@postgres_only
async def test_compose_v2_gets_no_reserved_variable_of_the_service(
    compose_v2: None,  # noqa: F811
    harness: Harness, busybox_image: BusyboxImage, tmp_path: Path,
) -> None:
    # DOCKER_CONFIG picks the CLI plugins: this one would run instead of (then as) compose.
    marker = tmp_path / "plugin-ran"
    plugins = tmp_path / "docker-config" / "cli-plugins"
    plugins.mkdir(parents=True)
    plugin = plugins / "docker-compose"
    plugin.write_text(f"#!/bin/sh\necho ran > '{marker}'\n"
                      f"exec '{COMPOSE_V2_CONFIG / 'cli-plugins' / 'docker-compose'}' \"$@\"\n")
    plugin.chmod(0o755)
    await _deploy_with_stored_env(harness, busybox_image, {"DOCKER_CONFIG": str(plugins.parent)}, tmp_path,
                                  marker)
