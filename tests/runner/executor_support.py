"""Running real deployments in-process for the executor tests (real Docker, registry, git).

`Harness` creates servers, projects and services through the domain API (as the API
would), queues deployments with `start_deployment` / `rollback_deployment` as an owner,
claims them the way the loop does (a guarded update setting `attempt`), and calls
`execute_deployment` directly. Everything it makes on a daemon carries its `token` in its
name (services and projects are named after it), so `cleanup()` removes exactly that.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import secrets
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container
from tortoise import connections

from berth.auth.principal import Principal, make_principal
from berth.auth.scopes import ALL_SCOPES
from berth.domain.cancel import cancel_deployment
from berth.domain.deployments import start_deployment
from berth.domain.inventory import create_project, create_server, create_service, update_service
from berth.domain.names import deployment_name
from berth.domain.rollback import rollback_deployment
from berth.domain.specs import (
    EnvVarSpec,
    HealthCheckSpec,
    ProjectSpec,
    ResourcesSpec,
    RollbackSpec,
    RouteSpec,
    ServerSpec,
    ServiceSpec,
    ServiceUpdateSpec,
    SourceSpec,
    StartSpec,
)
from berth.models import Deployment, DeploymentEvent, DeploymentStep, LogLine, Project, Server, Service
from berth.models.enums import DeploymentStatus, Role, StepKind, TokenKind
from berth.runner.executor import execute_deployment
from berth.runner.labels import DEPLOYMENT, SERVICE
from berth.settings import Settings, get_settings
from tests.docker_fixtures import APP_PORT
from tests.services import DOCKER_HOST, make_docker_client

COMPOSE_PROJECT = "com.docker.compose.project"
# Tables whose ids end up in Docker labels.
LABELLED_TABLES = ("server", "project", "environment", "service", "deployment")


def id_offset() -> int:
    return random.randint(10**6, 10**9)


async def offset_ids(dialect: str, start: int | None = None) -> int:
    """Start this database's ids far from 1.

    Containers are found by labels holding database ids, and every test database starts
    counting at 1: another test's runner reclaiming its deployment 2 on the shared daemon
    would remove our deployment 2's containers. Random large ids keep the tests apart.
    """
    start = start or id_offset()
    conn = connections.get("default")
    for table in LABELLED_TABLES:
        if dialect == "postgres":
            await conn.execute_query(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), {start})")
        else:
            await conn.execute_query("DELETE FROM sqlite_sequence WHERE name = ?", [table])
            await conn.execute_query("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", [table, start])
    return start


def offset_sqlite_file(path: str, start: int | None = None) -> None:
    """`offset_ids` for an SQLite database another process is about to open."""
    start = start or id_offset()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        for table in LABELLED_TABLES:
            db.execute("DELETE FROM sqlite_sequence WHERE name = ?", [table])
            db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", [table, start])


def owner() -> Principal:
    return make_principal(
        subject="token-1", email="owner@example.test", role=Role.OWNER, token_kind=TokenKind.API_TOKEN,
        credential_scopes=ALL_SCOPES, token_name="executor tests", token_id=1,
    )


def short_settings(**changes: Any) -> Settings:
    """Settings from the environment with waits short enough for tests."""
    values: dict[str, Any] = {"stable_seconds": 1.0, "health_default_timeout_seconds": 20,
                              "health_default_interval_seconds": 1, "allow_file_repos": True}
    values.update(changes)
    return dataclasses.replace(get_settings(), **values)


def http_get(url: str, timeout: float = 3) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def container_url(container: Container, port: int = APP_PORT, host: str = "127.0.0.1") -> str:
    container.reload()
    binding = container.ports[f"{port}/tcp"][0]
    return f"http://{host}:{binding['HostPort']}"


class Harness:
    def __init__(self, client: docker.DockerClient | None) -> None:
        self.token = f"rt{secrets.token_hex(4)}"
        self._client = client
        self.clients: dict[str, docker.DockerClient] = {DOCKER_HOST: client} if client else {}
        self.settings = short_settings()
        self._count = 0
        self._local: Server | None = None
        self._project: Project | None = None

    def name(self, what: str) -> str:
        self._count += 1
        return f"{self.token}-{what}{self._count}"

    @property
    def client(self) -> docker.DockerClient:
        assert self._client is not None, "this harness has no Docker"
        return self._client

    # ---- inventory through the domain API

    async def server(self, docker_host: str = DOCKER_HOST, **credentials: Any) -> Server:
        if docker_host == DOCKER_HOST and not credentials and self._local is not None:
            return self._local
        server = await create_server(owner(), ServerSpec(name=self.name("srv"), docker_host=docker_host,
                                                         **credentials))
        if docker_host == DOCKER_HOST and not credentials:
            self._local = server
        return server

    async def project(self) -> Project:
        if self._project is None:
            self._project = await create_project(owner(), ProjectSpec(name=self.name("p")))
        return self._project

    async def service(
        self,
        source: SourceSpec,
        *,
        env: Sequence[EnvVarSpec] | None = None,
        health: HealthCheckSpec | None = None,
        auto_rollback: bool | None = None,
        server: Server | None = None,
        resources: ResourcesSpec | None = None,
        route: RouteSpec | None = None,
    ) -> Service:
        target = server or await self.server()
        project = await self.project()
        return await create_service(owner(), ServiceSpec(
            project_id=project.id, environment="production", name=self.name("s"), server_id=target.id,
            source=source, env=env, health_check=health, auto_rollback=auto_rollback, resources=resources,
            route=route,
        ))

    async def update(self, service: Service, **changes: Any) -> Service:
        return await update_service(owner(), ServiceUpdateSpec(service_id=service.id, **changes))

    # ---- deployments

    async def queue(self, service: Service, **start: Any) -> Deployment:
        return await start_deployment(owner(), StartSpec(service_id=service.id, **start))

    async def claim(self, deployment_id: int, attempt: int = 1) -> int:
        claimed = await Deployment.filter(id=deployment_id, status=DeploymentStatus.QUEUED, attempt=0).update(
            attempt=attempt, claimed_by="test"
        )
        assert claimed == 1, f"deployment {deployment_id} could not be claimed"
        return attempt

    async def execute(self, deployment_id: int, settings: Settings | None = None, **options: Any) -> Deployment:
        attempt = await self.claim(deployment_id)
        await execute_deployment(deployment_id, attempt, settings or self.settings, **options)
        return await Deployment.get(id=deployment_id)

    async def deploy(self, service: Service, settings: Settings | None = None, **start: Any) -> Deployment:
        queued = await self.queue(service, **start)
        return await self.execute(queued.id, settings)

    async def rollback(self, service: Service, to: Deployment | None = None) -> Deployment:
        queued = await rollback_deployment(owner(), RollbackSpec(service_id=service.id,
                                                                 to_deployment_id=to.id if to else None))
        return await self.execute(queued.id)

    async def cancel_when(self, deployment_id: int, step: StepKind, *, after: float = 0.0,
                          timeout: float = 60) -> float:
        """Wait until `step` runs, then (after `after` s) cancel; returns when it was requested."""
        deadline = time.monotonic() + timeout
        while True:
            row = await DeploymentStep.get(deployment_id=deployment_id, kind=step)
            if str(row.status) == "RUNNING":
                break
            assert str(row.status) == "PENDING", f"{step} is {row.status}, not running"
            assert time.monotonic() < deadline, f"{step} never started"
            await asyncio.sleep(0.05)
        await asyncio.sleep(after)
        requested = time.monotonic()
        await cancel_deployment(owner(), deployment_id, "test cancel")
        return requested

    # ---- the record

    @staticmethod
    async def steps(deployment_id: int) -> dict[str, DeploymentStep]:
        return {str(step.kind): step for step in await DeploymentStep.filter(deployment_id=deployment_id)}

    @staticmethod
    async def step_statuses(deployment_id: int) -> dict[str, str]:
        return {kind: str(step.status) for kind, step in (await Harness.steps(deployment_id)).items()}

    @staticmethod
    async def logs(deployment_id: int) -> list[LogLine]:
        return list(await LogLine.filter(deployment_id=deployment_id).order_by("seq"))

    @staticmethod
    async def events(deployment_id: int) -> list[DeploymentEvent]:
        return list(await DeploymentEvent.filter(deployment_id=deployment_id).order_by("seq"))

    # ---- what runs

    def docker_for(self, host: str) -> docker.DockerClient:
        if host not in self.clients:
            self.clients[host] = make_docker_client(host)
        return self.clients[host]

    def _mine(self, client: docker.DockerClient | None, labels: str, running_only: bool) -> list[Container]:
        """Containers of this harness carrying `labels`, fully inspected.

        Sparse listing first, then one inspect each: other tests remove their containers
        at any moment, which must not break a look at ours.
        """
        client = client or self.client
        found = []
        for summary in client.api.containers(all=not running_only, filters={"label": labels}):
            # Labels hold database ids, which other test databases reuse: the name says whose.
            if any(self.token in name for name in summary.get("Names") or []):
                with contextlib.suppress(docker.errors.NotFound):
                    found.append(client.containers.get(summary["Id"]))
        return found

    def containers(self, service: Service, client: docker.DockerClient | None = None,
                   running_only: bool = True) -> list[Container]:
        return self._mine(client, f"{SERVICE}={service.id}", running_only)

    def deployment_containers(self, deployment: Deployment,
                              client: docker.DockerClient | None = None) -> list[Container]:
        return self._mine(client, f"{DEPLOYMENT}={deployment.id}", running_only=False)

    def serving(self, service: Service, client: docker.DockerClient | None = None) -> str | None:
        """The page the service's one running container serves (None when none runs)."""
        running = self.containers(service, client)
        if not running:
            return None
        assert len(running) == 1, f"more than one container runs: {[c.name for c in running]}"
        return http_get(container_url(running[0]) + "/")[1]

    # ---- cleanup

    def cleanup(self, extra_clients: Iterable[docker.DockerClient] = ()) -> None:
        """Remove everything named after the token (low-level calls: no inspect of objects
        that another test may be removing at the same moment)."""
        for client in [*self.clients.values(), *extra_clients]:
            api = client.api
            for container in api.containers(all=True):
                if any(self.token in name for name in container.get("Names") or []):
                    with contextlib.suppress(docker.errors.APIError):
                        api.remove_container(container["Id"], force=True)
            for image in api.images():
                for tag in image.get("RepoTags") or []:
                    if self.token in tag:
                        with contextlib.suppress(docker.errors.APIError):
                            api.remove_image(tag, force=True)
            for network in api.networks():
                if self.token in (network.get("Name") or ""):
                    with contextlib.suppress(docker.errors.APIError):
                        api.remove_network(network["Id"])
            for volume in (api.volumes() or {}).get("Volumes") or []:
                if self.token in volume["Name"]:
                    with contextlib.suppress(docker.errors.APIError):
                        api.remove_volume(volume["Name"], force=True)
        for host, client in self.clients.items():
            if host != DOCKER_HOST:
                client.close()



async def human_name(deployment: Deployment) -> str:
    """`project/env/service #N`, as the runner's messages name a deployment."""
    row = await Deployment.get(id=deployment.id).prefetch_related("project", "environment", "service")
    return deployment_name(row.project.name, row.environment.name, row.service.name, row.number)
