"""Fixtures of the executor tests: a `harness` running real deployments in-process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import docker
import pytest

from berth.settings import reset_settings
from tests.conftest import Database
from tests.docker_fixtures import BusyboxImage
from tests.runner.executor_support import Harness, offset_ids

# Run a test on one database only: most executor tests on PostgreSQL (the production
# database), one smoke test per source type on SQLite.
postgres_only = pytest.mark.parametrize("database", ["postgres"], indirect=True)
sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@pytest.fixture
async def harness(
    db: Database, docker_client: docker.DockerClient, busybox_image: BusyboxImage,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Harness]:
    # The tests' repositories are file:// URLs, which the domain accepts only with this.
    monkeypatch.setenv("BERTH_ALLOW_FILE_REPOS", "1")
    reset_settings()
    await offset_ids(db.dialect)
    harness = Harness(docker_client)
    try:
        yield harness
    finally:
        await asyncio.to_thread(harness.cleanup)


@pytest.fixture
async def fake_harness(db: Database, monkeypatch: pytest.MonkeyPatch) -> Harness:
    """A harness for runs against `FakeDocker` (no daemon involved)."""
    monkeypatch.setenv("BERTH_ALLOW_FILE_REPOS", "1")
    reset_settings()
    await offset_ids(db.dialect)
    return Harness(None)
