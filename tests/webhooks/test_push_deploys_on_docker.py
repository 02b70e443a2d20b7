"""A signed push deploys exactly the pushed commit on real Docker, even when the branch has
moved on by the time the runner clones (real server, real git, real Docker)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from berth.auth.api_tokens import create_api_token
from berth.models.enums import Role
from berth.runner.labels import DEPLOYMENT
from berth.schema.ids import pk_of
from tests.conftest import Database
from tests.docker_fixtures import PAGE_PATH, GitRepo, app_page
from tests.support.live_server import LiveServer, running_server, server_env
from tests.support.names import unique
from tests.support.polling import wait_until
from tests.webhooks.payloads import encode, push_payload, signed_headers

DEADLINE = 180.0


@pytest.fixture
def server(database: Database, tmp_path: Path) -> Iterator[LiveServer]:
    env = server_env(database.url, database.data_dir, BERTH_ALLOW_FILE_REPOS="1")
    with running_server(tmp_path / "server.log", env) as live:
        yield live


def graphql(server: LiveServer, secret: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.post(server.url + "/graphql", json={"query": query, "variables": variables or {}},
                          headers={"Authorization": f"Bearer {secret}"}, timeout=30)
    body: dict[str, Any] = response.json()
    assert not body.get("errors"), body
    return body["data"]


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_the_pushed_commit_deploys_not_the_branch_tip(
    db: Database, server: LiveServer, git_repo: GitRepo, docker_client: docker.DockerClient,
) -> None:
    _, secret = await create_api_token("hooks", Role.OWNER, None, [], None, "test", None)
    first = git_repo.commit({PAGE_PATH: app_page("pushed-first")}, "first")
    newer = git_repo.commit({PAGE_PATH: app_page("pushed-newer")}, "newer")
    assert first != newer and git_repo.head_sha() == newer

    # Unique: other Berth databases on this daemon have deployments with the same row ids.
    name = unique("web")
    local = next(s["id"] for s in graphql(server, secret, "{ servers { id name } }")["servers"]
                 if s["name"] == "local")
    project = graphql(server, secret, 'mutation { createProject(input: {name: "hookapp"}) { project { id } } }')
    service = graphql(
        server, secret,
        "mutation ($i: CreateServiceInput!) { createService(input: $i) { service { id } errors { message } } }",
        {"i": {"projectId": project["createProject"]["project"]["id"], "environment": "production",
               "name": name, "serverId": local,
               "source": {"type": "DOCKERFILE", "repository": git_repo.url, "branch": "main"}}},
    )["createService"]["service"]
    created = graphql(
        server, secret,
        "mutation ($i: CreateGitHookInput!) { createGitHook(input: $i) { gitHook { url } secret } }",
        {"i": {"serviceId": service["id"], "provider": "GITHUB", "repository": "team/app", "branch": "main"}},
    )["createGitHook"]
    body = encode(push_payload("github", "team/app", "refs/heads/main", first))
    response = httpx.post(created["gitHook"]["url"], content=body,
                          headers=signed_headers("github", created["secret"], body, "push"), timeout=30)
    assert response.status_code == 202, response.text
    deployment_id = response.json()["deployment"]

    def concluded() -> dict[str, Any] | None:
        record = graphql(server, secret, "query ($id: ID!) { deployment(id: $id) { conclusion "
                         "input { commitSha } error { message } } }", {"id": deployment_id})["deployment"]
        return record if record["conclusion"] else None

    record = wait_until(concluded, DEADLINE, "the webhook's deployment to conclude", interval=0.5)
    assert record["conclusion"] == "SUCCEEDED", (record, server.log()[-3000:])
    assert record["input"]["commitSha"] == first
    [container] = docker_client.containers.list(
        filters={"label": f"{DEPLOYMENT}={pk_of(deployment_id, 'Deployment')}", "name": f"berth-{name}-"})
    code, output = container.exec_run(["cat", "/www/index.html"])
    assert code == 0 and output.decode() == app_page("pushed-first")
