"""End to end through the real GraphQL server: `berth serve` (embedded runner, SQLite, the
`local` server it registers) deploys an IMAGE, a DOCKERFILE and a COMPOSE service that the
API created, and the app answers."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from tests.databases import DatabaseTemplates
from tests.docker_fixtures import GIT_VERSION, BusyboxImage, GitRepo, app_page, compose_yaml
from tests.runner.executor_support import Harness, container_url, http_get, offset_sqlite_file
from tests.support.graphql import GraphQLClient
from tests.support.live_server import LiveServer, running_server, server_env
from tests.support.polling import wait_until

DEPLOYMENT_FIELDS = """
  id status conclusion
  steps { kind status detail }
  error { step code message }
  frozenInput
  logs(first: 100) { edges { node { seq stream step text } } }
"""


@dataclass
class Api:
    server: LiveServer
    token: str
    prefix: str
    client: docker.DockerClient

    def call(self, query: str, **variables: Any) -> dict[str, Any]:
        with GraphQLClient(self.server.url, self.token, timeout=30) as client:
            return client.query(query, variables)

    def payload(self, query: str, field: str, **variables: Any) -> dict[str, Any]:
        result = self.call(query, **variables)[field]
        assert result["errors"] == [], result["errors"]
        return result  # type: ignore[no-any-return]

    def local_server_id(self) -> str:
        servers = self.call("{ servers { id name } }")["servers"]
        return next(s["id"] for s in servers if s["name"] == "local")

    def project(self) -> str:
        name = f"{self.prefix}-{secrets.token_hex(2)}"
        created = self.payload("mutation($name: String!) { createProject(input: {name: $name}) "
                               "{ project { id } errors { code message field } } }", "createProject", name=name)
        return str(created["project"]["id"])

    def service(self, source: dict[str, Any], **extra: Any) -> str:
        values = {"projectId": self.project(), "environment": "production", "name": f"{self.prefix}-svc",
                  "serverId": self.local_server_id(), "source": source, **extra}
        created = self.payload("mutation($input: CreateServiceInput!) { createService(input: $input) "
                               "{ service { id } errors { code message field } } }", "createService", input=values)
        return str(created["service"]["id"])

    def deploy(self, service_id: str, timeout: float = 120) -> dict[str, Any]:
        started = self.payload("mutation($id: ID!) { startDeployment(input: {serviceId: $id}) "
                               "{ deployment { id } errors { code message field } } }",
                               "startDeployment", id=service_id)
        deployment_id = started["deployment"]["id"]

        def concluded() -> dict[str, Any] | None:
            deployment: dict[str, Any] = self.call(
                f"query($id: ID!) {{ deployment(id: $id) {{ {DEPLOYMENT_FIELDS} }} }}", id=deployment_id
            )["deployment"]
            return deployment if deployment["conclusion"] is not None else None

        try:
            return wait_until(concluded, timeout, f"deployment {deployment_id} to conclude", interval=0.3)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.server.log()}") from None

    def serving(self) -> str:
        running = [c for c in self.client.api.containers()
                   if any(self.prefix in name for name in c.get("Names") or [])]
        assert len(running) == 1, [c["Names"] for c in running]
        return http_get(container_url(self.client.containers.get(running[0]["Id"])) + "/")[1]

    def cleanup(self) -> None:
        cleaner = Harness(self.client)
        cleaner.token = self.prefix
        cleaner.cleanup()


@pytest.fixture(scope="module")
def api(
    database_templates: DatabaseTemplates,
    tmp_path_factory: pytest.TempPathFactory,
    docker_client: docker.DockerClient,
    busybox_image: BusyboxImage,
) -> Iterator[Api]:
    directory = tmp_path_factory.mktemp("e2e")
    database_url = database_templates.new_database("sqlite", directory)
    offset_sqlite_file(database_url.removeprefix("sqlite://"))
    env = server_env(
        database_url, directory / "data",
        BERTH_ALLOW_FILE_REPOS="1", BERTH_STABLE_SECONDS="1", BERTH_RUNNER_POLL_SECONDS="0.2",
    )
    api: Api | None = None
    try:
        with running_server(directory / "server.log", env) as server:
            api = Api(server, "", f"e2e{secrets.token_hex(3)}", docker_client)
            created = subprocess.run(
                [sys.executable, "-m", "berth", "token", "create", "--name", "e2e", "--role", "owner"],
                env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=True,
            )
            api.token = created.stdout.strip()
            yield api
    finally:
        # After the server stopped: nothing deploys any more while the containers go.
        if api is not None:
            api.cleanup()


def assert_succeeded(deployment: dict[str, Any]) -> None:
    assert (deployment["status"], deployment["conclusion"]) == ("COMPLETED", "SUCCEEDED"), deployment["error"]
    seqs = [edge["node"]["seq"] for edge in deployment["logs"]["edges"]]
    assert seqs == list(range(1, len(seqs) + 1))


def test_image_through_the_api(api: Api, busybox_image: BusyboxImage) -> None:
    service = api.service({"type": "IMAGE", "image": busybox_image.ref("v1"), "ports": ["127.0.0.1::8080"]},
                          healthCheck={"kind": "HTTP", "port": 8080})
    deployment = api.deploy(service)
    assert_succeeded(deployment)
    assert deployment["frozenInput"]["imageDigest"] == busybox_image.digest("v1")
    assert api.serving() == busybox_image.page("v1")
    api.cleanup()


def test_dockerfile_through_the_api(api: Api, git_repo: GitRepo) -> None:
    service = api.service({"type": "DOCKERFILE", "repository": git_repo.url, "branch": "main",
                           "ports": ["127.0.0.1::8080"]})
    deployment = api.deploy(service)
    assert_succeeded(deployment)
    assert deployment["frozenInput"]["commitSha"] == git_repo.head_sha()
    assert api.serving() == app_page(GIT_VERSION)
    api.cleanup()


def test_compose_through_the_api(api: Api, busybox_image: BusyboxImage, tmp_path: Path) -> None:
    content = compose_yaml(busybox_image.ref("v2"))
    service = api.service({"type": "COMPOSE", "composeContent": content})
    deployment = api.deploy(service)
    assert_succeeded(deployment)
    assert deployment["frozenInput"]["composeFiles"] == [{"path": "compose.yaml", "content": content}]
    assert {step["kind"]: step["status"] for step in deployment["steps"]}["CLONE"] == "SKIPPED"
    assert api.serving() == busybox_image.page("v2")
    api.cleanup()
