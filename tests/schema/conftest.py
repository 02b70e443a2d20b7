"""A real `berth serve` per test module and database, trusting a real loopback OAuth issuer.

One server per module and dialect keeps the suite fast; tests isolate themselves with
unique names. The test process opens the same database with Tortoise (`orm`) to create
rows and credentials the way `berth token create` does.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE

from berth.auth import reset_jwks_cache
from berth.db import tortoise_config
from berth.models.enums import Role
from berth.settings import reset_settings
from tests.auth.issuer import Issuer
from tests.databases import DIALECTS, DatabaseTemplates
from tests.schema.world import UNREACHABLE_DOCKER, World, mint, seed_world
from tests.support.graphql import GraphQLClient
from tests.support.live_server import TEST_SECRET_KEY, LiveServer, running_server
from tests.support.orm import run_with_orm

T = TypeVar("T")


@pytest.fixture(scope="session")
def oauth_issuer() -> Iterator[Issuer]:
    server = Issuer().start()
    yield server
    server.stop()


def _test_process_env(data_dir: Path) -> dict[str, str]:
    # Token hashes computed in the test process must match the server's.
    return {"BERTH_SECRET_KEY": TEST_SECRET_KEY, "BERTH_DATA_DIR": str(data_dir)}


@dataclass
class Stack:
    """The server under test, its database and the issuer it trusts."""

    dialect: str
    url: str
    data_dir: Path
    server: LiveServer
    issuer: Issuer
    world: World | None = None
    _tokens: dict[tuple[frozenset[str], Role, frozenset[int]], str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.server.url

    def client(self, token: str | None = None) -> GraphQLClient:
        return GraphQLClient(self.base_url, token)

    def run(self, action: Callable[[], Awaitable[T]]) -> T:
        """Run `action` against the database from a sync context (module fixtures)."""
        return run_with_orm(self.url, action, _test_process_env(self.data_dir))

    def seeded(self) -> World:
        if self.world is None:
            self.world = self.run(seed_world)
        return self.world

    def tokens(
        self, scope_sets: Iterable[frozenset[str]], role: Role = Role.OWNER, project_ids: Iterable[int] = ()
    ) -> dict[frozenset[str], str]:
        """API tokens (cached per scope set) holding exactly these scopes."""
        projects = frozenset(project_ids)
        wanted = {s for s in scope_sets if (s, role, projects) not in self._tokens}

        async def make() -> None:
            for scopes in sorted(wanted, key=sorted):
                self._tokens[(scopes, role, projects)] = await mint(scopes, role=role, project_ids=projects)

        if wanted:
            self.run(make)
        return {s: self._tokens[(s, role, projects)] for s in scope_sets}

    def token(self, scopes: Iterable[str], role: Role = Role.OWNER, project_ids: Iterable[int] = ()) -> str:
        key = frozenset(scopes)
        return self.tokens([key], role, project_ids)[key]

    def jwt(self, **claims: Any) -> str:
        return self.issuer.sign(self.issuer.claims(**claims))


@pytest.fixture(scope="module", params=DIALECTS)
def stack(
    request: pytest.FixtureRequest,
    database_templates: DatabaseTemplates,
    tmp_path_factory: pytest.TempPathFactory,
    oauth_issuer: Issuer,
) -> Iterator[Stack]:
    """`berth serve` on a fresh database of each dialect, trusting `oauth_issuer`."""
    dialect: str = request.param
    directory = tmp_path_factory.mktemp(f"stack-{dialect}")
    url = database_templates.new_database(dialect, directory)
    data_dir = directory / "berth-data"
    env = {
        "BERTH_DATABASE_URL": url,
        **_test_process_env(data_dir),
        "BERTH_OAUTH_ISSUER": oauth_issuer.url,
        "BERTH_OAUTH_AUDIENCE": oauth_issuer.audience,
        "BERTH_OAUTH_JWKS_URL": oauth_issuer.jwks_url,
        # No Docker daemon is needed here; nothing should reach the real one.
        "DOCKER_HOST": UNREACHABLE_DOCKER,
        # The observer would add rows on its own schedule; these tests compare tables.
        "BERTH_OBSERVER_INTERVAL_SECONDS": "3600",
    }
    # Settings of the outer environment (a developer's shell) must not leak in.
    inherited = {k for k in os.environ if k.startswith("BERTH_") and k not in env}
    try:
        with running_server(directory / "server.log", env, unset=inherited) as server:
            yield Stack(dialect=dialect, url=url, data_dir=data_dir, server=server, issuer=oauth_issuer)
    finally:
        if dialect == "postgres":
            asyncio.run(database_templates.drop(url))


@pytest.fixture(autouse=True)
def _test_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for key, value in _test_process_env(tmp_path / "berth-data").items():
        monkeypatch.setenv(key, value)
    reset_settings()
    reset_jwks_cache()
    yield
    reset_settings()


@pytest.fixture
async def orm(stack: Stack) -> AsyncIterator[Stack]:
    """The module's database, opened with Tortoise in the test's event loop."""
    EXECUTOR_CACHE.clear()
    await Tortoise.init(config=tortoise_config(stack.url))
    try:
        yield stack
    finally:
        await Tortoise.close_connections()
