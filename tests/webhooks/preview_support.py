"""What the preview tests share: a running server with a git hook, pull requests sent to it
in the provider's shape, and what Docker itself shows by label."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from berth.auth.api_tokens import create_api_token
from berth.models.enums import Role
from berth.runner.labels import DEPLOYMENT, INSTALLATION, PREVIEW
from berth.schema.ids import pk_of
from tests.conftest import Database
from tests.docker_fixtures import GitRepo
from tests.support.live_server import LiveServer, running_server, server_env
from tests.support.names import unique
from tests.support.polling import wait_until
from tests.webhooks.payloads import PR_EVENT, encode, pull_request_payload, signed_headers

DEADLINE = 180.0
REPOSITORY = "team/app"


@pytest.fixture
def preview_server(database: Database, tmp_path: Path) -> Iterator[LiveServer]:
    # A one-second observer: teardowns, the TTL and the sweep happen on its passes.
    env = server_env(database.url, database.data_dir, BERTH_ALLOW_FILE_REPOS="1",
                     BERTH_OBSERVER_INTERVAL_SECONDS="1", BERTH_STABLE_SECONDS="1")
    with running_server(tmp_path / "server.log", env) as live:
        yield live


def graphql(server: LiveServer, secret: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.post(server.url + "/graphql", json={"query": query, "variables": variables or {}},
                          headers={"Authorization": f"Bearer {secret}"}, timeout=30)
    body: dict[str, Any] = response.json()
    assert not body.get("errors"), body
    return body["data"]


@dataclass
class Hooked:
    """A service on the local server with a git hook that has previews on."""

    server: LiveServer
    token: str
    service_id: str
    hook_url: str
    hook_secret: str
    provider: str

    def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return graphql(self.server, self.token, query, variables)

    def pull_request(self, number: int, **payload: Any) -> dict[str, Any]:
        """Send a pull-request event; the answer's JSON."""
        body = encode(pull_request_payload(self.provider, REPOSITORY, number, **payload))
        headers = signed_headers(self.provider, self.hook_secret, body, PR_EVENT[self.provider])
        response = httpx.post(self.hook_url, content=body, headers=headers, timeout=30)
        assert response.status_code == 202, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def concluded(self, deployment_id: str) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            record = self.query(
                "query ($id: ID!) { deployment(id: $id) { conclusion number frozenInput error { message } "
                "input { commitSha } preview { id pullRequest } } }", {"id": deployment_id})["deployment"]
            return record if record["conclusion"] else None

        record: dict[str, Any] = wait_until(done, DEADLINE, "the deployment to conclude", interval=0.5)
        assert record["conclusion"] == "SUCCEEDED", (record, self.server.log()[-4000:])
        return record

    def previews(self) -> list[dict[str, Any]]:
        data = self.query(
            "query ($id: ID!) { service(id: $id) { previews { id pullRequest status headSha fork closedAt "
            "cleanedAt addresses deployments { nodes { id number } } } } }", {"id": self.service_id})
        return list(data["service"]["previews"])

    def preview(self, number: int) -> dict[str, Any]:
        [found] = [p for p in self.previews() if p["pullRequest"] == number]
        return found

    def wait_status(self, number: int, status: str) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            found = self.preview(number)
            return found if found["status"] == status else None

        result: dict[str, Any] = wait_until(reached, DEADLINE, f"the preview of #{number} to be {status}",
                                            interval=0.5)
        return result


async def hooked_service(server: LiveServer, provider: str, source: dict[str, Any], *,
                         env: list[dict[str, Any]] | None = None, allow_forks: bool = False,
                         server_id: str | None = None, route: dict[str, Any] | None = None) -> Hooked:
    """`server_id`: another server than `local`; `route`: the service's RouteInput."""
    _, token = await create_api_token(unique("previews"), Role.OWNER, None, [], None, "test", None)
    local = server_id or next(s["id"] for s in graphql(server, token, "{ servers { id name } }")["servers"]
                              if s["name"] == "local")
    project = graphql(server, token, "mutation ($n: String!) { createProject(input: {name: $n}) "
                                     "{ project { id } } }", {"n": unique("pv")})["createProject"]["project"]
    created = graphql(
        server, token,
        "mutation ($i: CreateServiceInput!) { createService(input: $i) { service { id } errors { message } } }",
        {"i": {"projectId": project["id"], "environment": "production", "name": unique("web"), "serverId": local,
               "source": source, "env": env, "route": route}},
    )["createService"]
    assert created["service"], created
    hook = graphql(
        server, token,
        "mutation ($i: CreateGitHookInput!) { createGitHook(input: $i) { gitHook { url } secret } }",
        {"i": {"serviceId": created["service"]["id"], "provider": provider.upper(), "repository": REPOSITORY,
               "branch": "main", "previews": True, "allowForkPreviews": allow_forks}},
    )["createGitHook"]
    return Hooked(server, token, created["service"]["id"], hook["gitHook"]["url"], hook["secret"], provider)


def push_branch(repo: GitRepo, branch: str, files: dict[str, str], message: str,
                pull_ref: str | None = None) -> str:
    """Commit `files` on `branch` (made from main the first time) and push it; with
    `pull_ref`, push the commit only there (as a fork's head lives in refs/pull/N/head)."""
    if not repo.workdir.exists():
        repo.git("clone", "--quiet", "--branch", "main", repo.url, repo.workdir)
    repo.git("checkout", "--quiet", "-B", branch, f"origin/{branch}" if _has_remote(repo, branch) else "origin/main",
             cwd=repo.workdir)
    for rel, data in files.items():
        path = repo.workdir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data)
    repo.git("add", "--all", cwd=repo.workdir)
    repo.git("commit", "--quiet", "-m", message, cwd=repo.workdir)
    repo.git("push", "--quiet", "--force", "origin", f"HEAD:{pull_ref or f'refs/heads/{branch}'}", cwd=repo.workdir)
    return repo.git("rev-parse", "HEAD", cwd=repo.workdir)


def _has_remote(repo: GitRepo, branch: str) -> bool:
    refs = repo.git("--git-dir", repo.path, "for-each-ref", "--format=%(refname)", f"refs/heads/{branch}")
    return bool(refs)


def labelled(client: docker.DockerClient, installation: str, preview_pk: int | str) -> dict[str, list[str]]:
    """Every container, volume and network Docker shows with the preview's label (and this
    test installation's: row ids repeat across the databases sharing the daemon)."""
    wanted = {"label": [f"{PREVIEW}={preview_pk}", f"{INSTALLATION}={installation}"]}
    return {
        "containers": sorted(c.name for c in client.containers.list(all=True, filters=wanted)),
        "volumes": sorted(v.name for v in client.volumes.list(filters=wanted)),
        "networks": sorted(n.name for n in client.networks.list(filters=wanted)),
    }


def nothing_labelled(client: docker.DockerClient, installation: str, preview_pk: int | str) -> bool:
    return not any(labelled(client, installation, preview_pk).values())


def containers_of(client: docker.DockerClient, installation: str, deployment_gid: str) -> list[Any]:
    wanted = [f"{DEPLOYMENT}={pk_of(deployment_gid, 'Deployment')}", f"{INSTALLATION}={installation}"]
    return list(client.containers.list(filters={"label": wanted}))
