"""End-to-end API tests: a real `berth serve` per module and database, a GraphQL client with
bearer tokens, and helpers to look at the database the server writes to.

One server per (module, dialect) keeps the suite fast; every test names what it creates
uniquely, so tests sharing a server never see each other's rows through their filters.

Runner isolation: `berth serve` embeds a runner. These tests need deployments to stay where
the test put them (QUEUED, or moved by the test through the lifecycle rules), so every
server created through `Api.create_server` gets a *blocker*: one deployment of a hidden
service, in PREPARE, claimed by another (fictitious) runner with a lease far in the future.
A runner counts it against `maxConcurrentDeployments` (1 by default) and therefore claims
nothing else on that server, and its reclaimer leaves a live lease alone. No test hook in
the product is needed: this is exactly the state "another runner is busy on this server".
(On SQLite a restarted runner treats every foreign claim as its own leftover, but it can only
conclude one after reaching the server's daemon: the servers here point at a socket that does
not exist, so the blocker survives a restart too.)
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tortoise import Tortoise, connections
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.transactions import in_transaction

from berth.auth.api_tokens import create_api_token
from berth.db import tortoise_config
from berth.models import Deployment, Environment, Project, Service
from berth.models.enums import DeploymentStatus, DeploymentTrigger, Role, SourceType
from berth.models.lifecycle import create_deployment, now
from berth.schema.ids import from_global_id, to_global_id
from berth.settings import reset_settings
from tests.databases import DIALECTS, DatabaseTemplates
from tests.support.graphql import GraphQLClient
from tests.support.live_server import TEST_SECRET_KEY, LiveServer, running_server, server_env
from tests.support.names import unique

TIMEOUT = 20.0
BLOCKER_RUNNER = "e2e-blocker-runner"

# Tables whose rows a refused mutation must leave exactly as they were. `api_token` is left
# out (authentication refreshes `last_used_at`), `observation` too (the observer's).
SNAPSHOT_TABLES = (
    "server", "project", "environment", "service", "deployment", "deployment_step",
    "deployment_event", "log_line", "idempotency_key",
)
# Columns the observer keeps current on its own schedule.
OBSERVER_COLUMNS = {"reachable", "last_checked_at", "docker_version"}


def pk(global_id: str) -> int:
    decoded = from_global_id(global_id)
    assert decoded is not None, global_id
    return decoded[1]


def gid(type_name: str, value: int) -> str:
    return to_global_id(type_name, value)


# ---------------------------------------------------------------- GraphQL selections

DEPLOYMENT_FIELDS = """
  id number status conclusion trigger queuePosition
  createdAt startedAt concludedAt cancelRequestedAt reason cancelReason
  actor { subject email role tokenKind tokenName }
  input { sourceType image imageTag imageDigest imageId repository ref commitSha
          composeFiles composeProfiles dockerfile }
  configSnapshot declaredConfig frozenInput artifact
  steps { kind status startedAt completedAt detail }
  error { step code message }
  rollbackOf { id number }
  service { id name } project { id name } environment { id name } server { id name }
  lastObservedState { drift observedAt }
"""

SERVICE_FIELDS = """
  id name sourceType declaredConfig autoRollback
  healthCheck { kind port path expectedStatus timeoutSeconds intervalSeconds }
  project { id name } environment { id name project { id } } server { id name }
"""

SERVER_FIELDS = """
  id name dockerHost maxConcurrentDeployments maxQueuedDeployments allowPrivileged
  reachable lastCheckedAt dockerVersion
"""



# ---------------------------------------------------------------- the server

@dataclass
class ApiServer:
    """A running `berth serve` on its own database, shared by one module's tests."""

    dialect: str
    db_url: str
    data_dir: Path
    live: LiveServer
    templates: DatabaseTemplates
    # Bearer secrets by role name, created on first use (the database outlives one test).
    tokens: dict[str, str] = field(default_factory=dict)
    token_ids: dict[str, int] = field(default_factory=dict)
    # Objects a module builds once and its tests only read.
    cache: dict[str, Any] = field(default_factory=dict)
    # Server global id -> the id of the deployment that keeps runners off it.
    blockers: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.live.url

    def restart(self) -> None:
        self.live.restart()


@pytest.fixture(scope="module", params=DIALECTS)
def api_server(
    request: pytest.FixtureRequest,
    database_templates: DatabaseTemplates,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ApiServer]:
    dialect: str = request.param
    directory = tmp_path_factory.mktemp(f"e2e-{dialect}")
    db_url = database_templates.new_database(dialect, directory)
    data_dir = directory / "berth-data"
    # The observer runs once at start; these tests write the observations they read.
    env = server_env(db_url, data_dir, BERTH_OBSERVER_INTERVAL_SECONDS="3600")
    with running_server(directory / "server.log", env) as live:
        yield ApiServer(dialect, db_url, data_dir, live, database_templates)
    if dialect == "postgres":
        asyncio.run(database_templates.drop(db_url))


# ---------------------------------------------------------------- the client

@dataclass
class Api:
    """One test's view of the module's server: GraphQL calls and the database behind them."""

    server: ApiServer
    # Anonymous; every call names its credential. It records every response body this test
    # received in `transcript`, for the planted-secret search.
    graphql: GraphQLClient

    @property
    def http(self) -> httpx.Client:
        return self.graphql.http

    @property
    def transcript(self) -> list[str]:
        assert self.graphql.transcript is not None
        return self.graphql.transcript

    # -- credentials -----------------------------------------------------------

    async def token(self, role: str = "owner", **grant: Any) -> str:
        """A bearer API token of `role` (role's default scopes), created once per server.
        With `grant` (scopes=…, project_ids=…), a fresh one each time."""
        if not grant and role in self.server.tokens:
            return self.server.tokens[role]
        row, secret = await create_api_token(
            f"e2e {role}", Role(role.upper()), grant.get("scopes"), grant.get("project_ids", []),
            None, "e2e-tests", None,
        )
        if not grant:
            self.server.tokens[role] = secret
            self.server.token_ids[role] = row.id
        return secret

    # -- GraphQL over HTTP -----------------------------------------------------

    def post(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> dict[str, Any]:
        return self.graphql.with_token(token).body(query, variables)

    async def query(self, query: str, variables: dict[str, Any] | None = None, role: str = "owner",
                    token: str | None = None) -> dict[str, Any]:
        """Run an operation that must not produce GraphQL errors; returns `data`."""
        return self.graphql.with_token(token or await self.token(role)).query(query, variables)

    async def mutate(self, name: str, input: dict[str, Any], selection: str, role: str = "owner",
                     token: str | None = None) -> dict[str, Any]:
        """Call one mutation with `input`; returns its payload (with `errors`)."""
        return self.graphql.with_token(token or await self.token(role)).mutate(name, input, selection)

    async def ok(self, name: str, input: dict[str, Any], selection: str, role: str = "owner",
                 token: str | None = None) -> dict[str, Any]:
        """A mutation that must succeed; returns its payload."""
        payload = await self.mutate(name, input, selection, role=role, token=token)
        assert payload["errors"] == [], payload["errors"]
        return payload

    # -- inventory through the API -------------------------------------------

    async def create_server(self, block_runner: bool = True, **fields: Any) -> dict[str, Any]:
        values = {"name": unique("srv"), "dockerHost": "unix:///nonexistent/docker.sock", **fields}
        server: dict[str, Any] = (await self.ok("createServer", values, f"server {{ {SERVER_FIELDS} }}"))["server"]
        if block_runner:
            self.server.blockers[server["id"]] = await self.block_runner(pk(server["id"]))
        return server

    async def create_project(self, **fields: Any) -> dict[str, Any]:
        values = {"name": unique("proj"), **fields}
        selection = "project { id name environments { id name } }"
        project: dict[str, Any] = (await self.ok("createProject", values, selection))["project"]
        return project

    async def create_service(
        self, server: dict[str, Any] | None = None, project: dict[str, Any] | None = None,
        source: dict[str, Any] | None = None, **fields: Any,
    ) -> dict[str, Any]:
        server = server or await self.create_server()
        project = project or await self.create_project()
        values = {
            "projectId": project["id"],
            "environment": "production",
            "name": unique("svc"),
            "serverId": server["id"],
            "source": source or {"type": "IMAGE", "image": "registry.example.test/team/app:v1"},
            **fields,
        }
        service: dict[str, Any] = (await self.ok("createService", values, f"service {{ {SERVICE_FIELDS} }}"))["service"]
        return service

    async def start(self, service: dict[str, Any], role: str = "owner", selection: str = DEPLOYMENT_FIELDS,
                    **fields: Any) -> dict[str, Any]:
        payload = await self.ok("startDeployment", {"serviceId": service["id"], **fields},
                                f"deployment {{ {selection} }}", role=role)
        deployment: dict[str, Any] = payload["deployment"]
        return deployment

    async def deployment(self, deployment_id: str, selection: str = DEPLOYMENT_FIELDS,
                         role: str = "owner") -> dict[str, Any]:
        data = await self.query(f"query D($id: ID!) {{ deployment(id: $id) {{ {selection} }} }}",
                                {"id": deployment_id}, role=role)
        result: dict[str, Any] = data["deployment"]
        return result

    # -- the runner stays away -------------------------------------------------

    async def block_runner(self, server_id: int) -> int:
        """Make the server look busy to any runner (see the module docstring); returns the
        blocker deployment's id. Created running in one transaction: never QUEUED."""
        project = await Project.create(name=unique("blocker"))
        environment = await Environment.create(project=project, name="production")
        service = await Service.create(
            project=project, environment=environment, server_id=server_id, name=unique("blocker"),
            source_type=SourceType.IMAGE, source={"image": "registry.example.test/blocker:v1"},
            last_deployment_number=1,
        )
        async with in_transaction() as conn:
            deployment = await create_deployment(
                conn, service_id=service.id, project_id=project.id, environment_id=environment.id,
                server_id=server_id, number=1, trigger=DeploymentTrigger.API,
                actor={"subject": "e2e", "email": None, "role": "OWNER", "tokenKind": "API_TOKEN"},
                input={"sourceType": "IMAGE"}, config_snapshot={}, declared_config={}, frozen_input={},
            )
            await Deployment.filter(id=deployment.id).using_db(conn).update(
                status=DeploymentStatus.PREPARE, started_at=now(), claimed_by=BLOCKER_RUNNER,
                lease_expires_at=now() + timedelta(days=1), attempt=1,
            )
        return deployment.id

    # -- the database -----------------------------------------------------------

    async def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """Every row of the tables a mutation may write, to compare before and after."""
        conn = connections.get("default")
        state: dict[str, list[dict[str, Any]]] = {}
        for table in SNAPSHOT_TABLES:
            rows = await conn.execute_query_dict(f"SELECT * FROM {table} ORDER BY id")
            state[table] = [
                {k: v for k, v in row.items() if not (table == "server" and k in OBSERVER_COLUMNS)}
                for row in rows
            ]
        return state

    def dump(self) -> bytes:
        """The database as stored: the SQLite file and its WAL, or a pg_dump of the database."""
        if self.server.dialect == "sqlite":
            path = Path(self.server.db_url.removeprefix("sqlite://"))
            parts = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")]
            return b"".join(p.read_bytes() for p in parts if p.exists())
        dsn = "postgresql://" + self.server.db_url.split("://", 1)[1]
        result = subprocess.run(["pg_dump", "--no-owner", "--dbname", dsn], capture_output=True, check=True,
                                timeout=60)
        return result.stdout

    def server_log(self) -> str:
        return self.server.live.log()


@pytest.fixture
async def api(api_server: ApiServer, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Api]:
    """The module's server, with the test process opened on the same database and key."""
    monkeypatch.setenv("BERTH_DATABASE_URL", api_server.db_url)
    monkeypatch.setenv("BERTH_DATA_DIR", str(api_server.data_dir))
    monkeypatch.setenv("BERTH_SECRET_KEY", TEST_SECRET_KEY)
    reset_settings()
    EXECUTOR_CACHE.clear()
    await Tortoise.init(config=tortoise_config(api_server.db_url))
    with GraphQLClient(api_server.url, timeout=TIMEOUT, transcript=[]) as graphql:
        try:
            yield Api(api_server, graphql)
        finally:
            await Tortoise.close_connections()
            reset_settings()
