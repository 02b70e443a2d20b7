"""Client tests: the installed `berth` against a real `berth serve`.

Two kinds of server:

- `queue_server`: PostgreSQL and `berth serve --no-runner`, so deployments stay QUEUED
  until the test (or the CLI under test) moves them: cancel, supersede, interrupt, logs.
- `runner_server`: SQLite and `berth serve` with its embedded runner on the test Docker
  daemon, for deployments that really run (the local registry's busybox app).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import pytest

from berth.models.lifecycle import LogEntry, append_logs
from berth.schema.ids import from_global_id
from tests.client.support import Cli, run_command
from tests.databases import DatabaseTemplates
from tests.support.live_server import LiveServer, running_server, server_env
from tests.support.orm import run_with_orm


@dataclass
class Served:
    server: LiveServer
    database_url: str

    def token(self, role: str = "owner", name: str = "cli", *scopes: str) -> str:
        """A new API token, made by `berth token create` on the server's database."""
        args = [sys.executable, "-m", "berth", "token", "create", "--name", name, "--role", role]
        for scope in scopes:
            args += ["--scope", scope]
        return run_command(args, env={**os.environ, **self.server.env}).strip()

    def restart(self) -> None:
        self.server.restart()


def _server(templates: DatabaseTemplates, dialect: str, tmp_path: Path, args: list[str],
            extra_env: dict[str, str]) -> Iterator[Served]:  # fmt: skip
    url = templates.new_database(dialect, tmp_path)
    env = server_env(url, tmp_path / "berth-data", **extra_env)
    try:
        with running_server(tmp_path / "server.log", env, args=args) as server:
            yield Served(server, url)
    finally:
        if dialect == "postgres":
            asyncio.run(templates.drop(url))


@pytest.fixture
def queue_server(database_templates: DatabaseTemplates, tmp_path: Path) -> Iterator[Served]:
    yield from _server(database_templates, "postgres", tmp_path, ["--no-runner"], {})


@pytest.fixture
def runner_server(
    database_templates: DatabaseTemplates, tmp_path: Path, docker_client: docker.DockerClient
) -> Iterator[Served]:
    yield from _server(
        database_templates, "sqlite", tmp_path, [],
        {"BERTH_ALLOW_FILE_REPOS": "1", "BERTH_STABLE_SECONDS": "1"},
    )  # fmt: skip


def make_cli(served: Served, tmp_path: Path, token: str | None) -> Iterator[Cli]:
    config_dir = tmp_path / "client-config"
    config_dir.mkdir(exist_ok=True)
    cli = Cli(url=served.server.url, token=token, config_dir=config_dir)
    try:
        yield cli
    finally:
        cli.stop_all()


@pytest.fixture
def queue_cli(queue_server: Served, tmp_path: Path) -> Iterator[Cli]:
    yield from make_cli(queue_server, tmp_path, queue_server.token())


@pytest.fixture
def runner_cli(runner_server: Served, tmp_path: Path) -> Iterator[Cli]:
    yield from make_cli(runner_server, tmp_path, runner_server.token())


def append_lines(database_url: str, deployment_id: str, texts: list[str]) -> int:
    """Store log lines for a deployment from this process, as a runner elsewhere would."""
    decoded = from_global_id(deployment_id)
    assert decoded is not None, deployment_id

    async def append() -> int:
        return await append_logs(decoded[1], [LogEntry(text) for text in texts])

    return run_with_orm(database_url, append)


@pytest.fixture
def docker_cleanup(docker_client: docker.DockerClient) -> Iterator[list[str]]:
    """Names (service or project names) whose containers the test's deployments left behind."""
    names: list[str] = []
    yield names
    # The low-level listing: other tests on this daemon may remove containers meanwhile.
    for summary in docker_client.api.containers(all=True):
        labels = summary.get("Labels") or {}
        text = " ".join([*summary.get("Names", []), labels.get("com.docker.compose.project", "")])
        if any(name in text for name in names):
            with contextlib.suppress(docker.errors.NotFound):
                docker_client.api.remove_container(summary["Id"], force=True)
