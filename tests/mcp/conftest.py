"""MCP tests: a real `berth serve` (SQLite, embedded runner on the test Docker daemon) and the
SDK's own client, over stdio (`python -m berth mcp` as a subprocess with BERTH_URL and
BERTH_TOKEN) and over streamable HTTP at `/mcp`.

One server per module; every test names what it creates uniquely.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult

from berth.schema.ids import from_global_id
from tests.client.support import run_command
from tests.databases import DatabaseTemplates
from tests.docker_fixtures import APP_PORT
from tests.support.graphql import GraphQLClient
from tests.support.live_server import ROOT, LiveServer, running_server, server_env
from tests.support.names import unique

TRANSPORTS = ("stdio", "http")
DEPLOY_TIMEOUT = 120.0
# Tables a refused or unconfirmed change must leave as they were.
COUNTED_TABLES = ("deployment", "deployment_step", "deployment_event", "log_line", "idempotency_key")


def pk(global_id: str) -> int:
    decoded = from_global_id(global_id)
    assert decoded is not None, global_id
    return decoded[1]


@dataclass
class McpServer:
    live: LiveServer
    database_url: str
    tokens: dict[str, str] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.live.url

    def token(self, role: str = "owner", *, projects: tuple[int, ...] = (), scopes: tuple[str, ...] = (),
              fresh: bool = False) -> str:
        """An API token made by `berth token create` on the server's database (one per role
        unless limited or `fresh`)."""
        key = f"{role}|{projects}|{scopes}"
        if key in self.tokens and not fresh:
            return self.tokens[key]
        args = [sys.executable, "-m", "berth", "token", "create", "--name", unique(role), "--role", role]
        for project in projects:
            args += ["--project", str(project)]
        for scope in scopes:
            args += ["--scope", scope]
        token = run_command(args, env={**os.environ, **self.live.env}).strip()
        self.tokens[key] = token
        return token

    def graphql(self, role: str = "owner") -> GraphQLClient:
        return GraphQLClient(self.url, self.token(role), timeout=30)

    def counts(self) -> dict[str, int]:
        """Rows per table, read from the server's SQLite file."""
        path = self.database_url.removeprefix("sqlite://")
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as conn:
            return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in COUNTED_TABLES}

    # -- inventory through GraphQL ------------------------------------------

    def local_server_id(self) -> str:
        if "server" not in self.cache:
            with self.graphql() as gql:
                servers = gql.query("{ servers { id name } }")["servers"]
            self.cache["server"] = next(s["id"] for s in servers if s["name"] == "local")
        return str(self.cache["server"])

    def project(self, name: str | None = None) -> dict[str, Any]:
        with self.graphql() as gql:
            payload = gql.mutate("createProject", {"name": name or unique("mcp")}, "project { id name }")
        assert payload["errors"] == [], payload
        return dict(payload["project"])

    def service(self, project: dict[str, Any], image: str, *, environment: str = "production",
                health_path: str = "/index.html", name: str | None = None) -> dict[str, Any]:
        values = {
            "projectId": project["id"], "environment": environment, "name": name or unique("svc"),
            "serverId": self.local_server_id(),
            "source": {"type": "IMAGE", "image": image, "ports": [f"127.0.0.1::{APP_PORT}"]},
            "healthCheck": {"kind": "HTTP", "port": APP_PORT, "path": health_path},
        }
        with self.graphql() as gql:
            payload = gql.mutate("createService", values, "service { id name environment { id name } }")
        assert payload["errors"] == [], payload
        return {**payload["service"], "project": project}


@pytest.fixture(scope="module")
def mcp_server(
    database_templates: DatabaseTemplates, tmp_path_factory: pytest.TempPathFactory,
    docker_client: docker.DockerClient,
) -> Iterator[McpServer]:
    directory = tmp_path_factory.mktemp("mcp")
    url = database_templates.new_database("sqlite", directory)
    env = server_env(url, directory / "berth-data", BERTH_STABLE_SECONDS="1")
    with running_server(directory / "server.log", env) as live:
        server = McpServer(live, url)
        yield server
    # What the module's deployments left running on the shared daemon.
    for summary in docker_client.api.containers(all=True):
        names = " ".join(summary.get("Names", []))
        if any(name in names for name in server.cache.get("containers", [])):
            with contextlib.suppress(docker.errors.NotFound):
                docker_client.api.remove_container(summary["Id"], force=True)


def forget_later(server: McpServer, service: dict[str, Any]) -> None:
    """Remove the service's containers when the module ends (their names carry the service's)."""
    server.cache.setdefault("containers", []).append(service["name"])


@contextlib.asynccontextmanager
async def mcp_client(server: McpServer, token: str, transport: str, mode: str = "auto") -> AsyncIterator[Client]:
    """The SDK's `Client` as the holder of `token`, over `transport`; `mode` "legacy" forces the
    initialize handshake (the default negotiates the per-request 2026-07-28 protocol)."""
    if transport == "stdio":
        target: Any = StdioServerParameters(
            command=sys.executable, args=["-m", "berth", "mcp"], cwd=str(ROOT),
            # No config file: the credential is the environment's alone.
            env={"BERTH_URL": server.url, "BERTH_TOKEN": token, "PYTHONPATH": str(ROOT),
                 "BERTH_CONFIG": os.path.join(tempfile.gettempdir(), unique("no-berth-config"))},
        )
        async with Client(target, read_timeout_seconds=60, mode=mode) as client:
            yield client
        return
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        async with Client(streamable_http_client(server.url + "/mcp", http_client=http),
                          read_timeout_seconds=60, mode=mode) as client:
            yield client


def structured(result: CallToolResult) -> dict[str, Any]:
    assert isinstance(result.structured_content, dict), result
    return result.structured_content


def codes(result: CallToolResult) -> list[str]:
    return [error["code"] for error in structured(result)["errors"]]


async def tool_names(client: Client) -> set[str]:
    return {tool.name for tool in (await client.list_tools()).tools}
