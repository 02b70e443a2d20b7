"""Shared fixtures: a fresh migrated database per test on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE

from berth.settings import reset_settings
from tests.databases import DIALECTS, DatabaseTemplates, installation_uid
from tests.services import REQUIRE_SERVICES
from tests.support.live_server import TEST_SECRET_KEY, LiveServer, running_server, server_env

pytest_plugins = ["tests.docker_fixtures"]

@pytest.fixture(scope="session")
def database_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseTemplates]:
    templates = DatabaseTemplates(tmp_path_factory.mktemp("db-templates"))
    yield templates
    templates.drop_all()


@dataclass
class Database:
    dialect: str
    url: str
    data_dir: Path

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgres"


@pytest.fixture
def berth_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Settings for one test: a private data dir and a fixed secret key."""
    data_dir = tmp_path / "berth-data"
    monkeypatch.setenv("BERTH_DATA_DIR", str(data_dir))
    monkeypatch.setenv("BERTH_SECRET_KEY", TEST_SECRET_KEY)
    reset_settings()
    yield data_dir
    reset_settings()


@pytest.fixture(params=DIALECTS)
def database(
    request: pytest.FixtureRequest,
    database_templates: DatabaseTemplates,
    berth_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[Database]:
    """A fresh migrated database (not opened); BERTH_DATABASE_URL points at it."""
    dialect: str = request.param
    url = database_templates.new_database(dialect, tmp_path)
    monkeypatch.setenv("BERTH_DATABASE_URL", url)
    reset_settings()
    yield Database(dialect=dialect, url=url, data_dir=berth_env)
    # What this test's installation deployed for real must not outlive it.
    uid = installation_uid(url)
    if uid is not None:
        from tests.docker_fixtures import remove_installation_objects  # a plugin: import late

        remove_installation_objects(uid)
    if dialect == "postgres":
        import asyncio

        asyncio.run(database_templates.drop(url))


@pytest.fixture
async def db(database: Database) -> AsyncIterator[Database]:
    """The fresh database, opened with Tortoise for the test."""
    # Tortoise caches INSERT SQL per connection name: a new dialect under "default"
    # must not reuse the previous one's statements.
    EXECUTOR_CACHE.clear()
    from berth.db import tortoise_config
    from berth.runner.labels import forget_installation

    forget_installation()  # each test database is its own installation
    await Tortoise.init(config=tortoise_config(database.url))
    yield database
    await Tortoise.close_connections()
    forget_installation()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """With BERTH_REQUIRE_SERVICES=1 (CI) a skipped test is a failed test."""
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_SERVICES and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped while BERTH_REQUIRE_SERVICES=1: {report.longrepr}"


@pytest.fixture
def live_server(database: Database, tmp_path: Path) -> Iterator[LiveServer]:
    """`berth serve` on the test's fresh database."""
    with running_server(tmp_path / "server.log", server_env(database.url, database.data_dir)) as server:
        yield server
