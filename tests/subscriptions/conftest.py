"""Fixtures for the subscription tests: real `berth serve` processes on the test database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Database
from tests.databases import DatabaseTemplates
from tests.subscriptions.support import new_deployment, token
from tests.support.live_server import LiveServer, running_server, server_env
from tests.support.orm import run_with_orm

# PostgreSQL only: the test process writes like a runner in another process, and only
# PostgreSQL carries another process's commits to the API (one process owns SQLite).
postgres_only = pytest.mark.parametrize("database", ["postgres"], indirect=True)
sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def database_env(database: Database, **extra: str) -> dict[str, str]:
    return server_env(database.url, database.data_dir, **extra)


@pytest.fixture
def api(database: Database, tmp_path: Path) -> Iterator[LiveServer]:
    """An API process on the test database: `--no-runner` on PostgreSQL (the test drives
    deployments as a runner elsewhere would); on SQLite the plain `berth serve`."""
    args = ["--no-runner"] if database.is_postgres else []
    with running_server(tmp_path / "api.log", database_env(database), args=args) as server:
        yield server


@dataclass
class SharedServer:
    """One `berth serve` on its own SQLite database, for a module's tests that need nothing
    of their own: an owner's token and a deployment (QUEUED) to subscribe to."""

    server: LiveServer
    secret: str
    deployment_id: int

    @property
    def ws_url(self) -> str:
        return self.server.ws_url


@contextmanager
def shared_server(templates: DatabaseTemplates, directory: Path, **extra_env: str) -> Iterator[SharedServer]:
    """The body of a module fixture: a fresh SQLite database with a token and a deployment,
    then `berth serve` on it with `extra_env`."""
    url = templates.new_database("sqlite", directory)
    env = server_env(url, directory / "data", **extra_env)

    async def prepare() -> tuple[str, int]:
        return await token(), (await new_deployment()).id

    secret, deployment_id = run_with_orm(url, prepare, env)
    with running_server(directory / "api.log", env) as server:
        yield SharedServer(server, secret, deployment_id)
