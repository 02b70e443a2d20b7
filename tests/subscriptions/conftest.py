"""Fixtures for the subscription tests: real `berth serve` processes on the test database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET_KEY, Database
from tests.subscriptions.support import ApiProcess

# PostgreSQL only: the test process writes like a runner in another process, and only
# PostgreSQL carries another process's commits to the API (one process owns SQLite).
postgres_only = pytest.mark.parametrize("database", ["postgres"], indirect=True)
sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def server_env(database: Database) -> dict[str, str]:
    return {
        "BERTH_DATABASE_URL": database.url,
        "BERTH_DATA_DIR": str(database.data_dir),
        "BERTH_SECRET_KEY": TEST_SECRET_KEY,
    }


@pytest.fixture
def api(database: Database, tmp_path: Path) -> Iterator[ApiProcess]:
    """An API process on the test database: `--no-runner` on PostgreSQL (the test drives
    deployments as a runner elsewhere would); on SQLite the plain `berth serve`."""
    args = ["--no-runner"] if database.is_postgres else []
    server = ApiProcess(env=server_env(database), log_path=tmp_path / "api.log", args=args).start()
    yield server
    server.stop()
