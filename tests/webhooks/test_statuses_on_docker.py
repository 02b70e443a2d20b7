"""Commit statuses of push deployments that really run (real server, real git, real Docker):
`pending` then `success` for a commit that deploys, `pending` then `failure` for one that
cannot be checked out, sent by the server's own sender to a loopback stand-in for GitHub
that fails the first request (so the live path retries too)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import httpx
import pytest

from berth.auth.api_tokens import create_api_token
from berth.models.enums import Role
from tests.conftest import Database
from tests.docker_fixtures import PAGE_PATH, GitRepo, app_page
from tests.support.graphql import GraphQLClient
from tests.support.live_server import LiveServer, running_server, server_env
from tests.support.names import unique
from tests.support.status_receiver import Received, StatusReceiver
from tests.webhooks.payloads import encode, push_payload, signed_headers

DEADLINE = 180.0
TOKEN = "ghp_berthDockerStatusTest0123456789"
MISSING_SHA = "f" * 40


@pytest.fixture
def receiver() -> Iterator[StatusReceiver]:
    with StatusReceiver(echo_credentials=True) as server:
        yield server


@pytest.fixture
def server(database: Database, tmp_path: Path) -> Iterator[LiveServer]:
    env = server_env(database.url, database.data_dir, BERTH_ALLOW_FILE_REPOS="1",
                     BERTH_STATUS_POLL_SECONDS="0.2", BERTH_STATUS_RETRY_BASE_SECONDS="0.2",
                     BERTH_STATUS_RETRY_MAX_SECONDS="1")
    with running_server(tmp_path / "server.log", env) as live:
        yield live


def states_of(requests: list[Received], sha: str) -> list[str]:
    return [r.body["state"] for r in requests if r.path.endswith("/" + sha)]


async def test_statuses_follow_real_deployments(
    db: Database, server: LiveServer, git_repo: GitRepo, receiver: StatusReceiver,
    docker_client: docker.DockerClient,
) -> None:
    _, secret = await create_api_token("statuses", Role.OWNER, None, [], None, "test", None)
    client = GraphQLClient(server.url, secret, timeout=30)
    good = git_repo.commit({PAGE_PATH: app_page("statuses")}, "deployable")
    local = next(s["id"] for s in client.query("{ servers { id name } }")["servers"] if s["name"] == "local")
    project = client.mutate("createProject", {"name": unique("statusapp")}, "project { id name }")["project"]
    # A name of its own: other tests on this Docker daemon deploy services called "web".
    name = unique("statusweb")
    service = client.mutate("createService", {
        "projectId": project["id"], "environment": "production", "name": name, "serverId": local,
        "source": {"type": "DOCKERFILE", "repository": git_repo.url, "branch": "main"},
    }, "service { id }")["service"]
    created = client.mutate("createGitHook", {
        "serviceId": service["id"], "provider": "GITHUB", "repository": "team/app", "branch": "main",
        "statusApiUrl": receiver.url, "statusToken": TOKEN,
    }, "gitHook { url reportsStatuses } secret")
    assert created["gitHook"]["reportsStatuses"] is True
    receiver.script(502)  # the first request fails: the pending goes on the second attempt

    def push(sha: str) -> None:
        body = encode(push_payload("github", "team/app", "refs/heads/main", sha))
        response = httpx.post(created["gitHook"]["url"], content=body,
                              headers=signed_headers("github", created["secret"], body, "push"), timeout=30)
        assert response.status_code == 202, response.text

    push(good)
    requests = receiver.wait_for(3, DEADLINE)
    assert states_of(requests, good) == ["pending", "pending", "success"], server.log()[-3000:]
    success = requests[2]
    assert success.path == f"/repos/team/app/statuses/{good}"
    assert success.header("authorization") == f"Bearer {TOKEN}"
    assert success.body["context"] == f"berth/production/{name}"
    assert success.body["description"] == f"{project['name']}/production/{name} #1 deployed"
    assert success.body["target_url"].startswith(server.url + "/api/v1/deployments/")

    push(MISSING_SHA)
    requests = receiver.wait_for(5, DEADLINE)
    assert states_of(requests, MISSING_SHA) == ["pending", "failure"], server.log()[-3000:]
    assert requests[4].body["description"] == f"{project['name']}/production/{name} #2 failed (CLONE_FAILED)"
    assert len(receiver.snapshot()) == 5
    assert TOKEN not in server.log()
    client.close()
