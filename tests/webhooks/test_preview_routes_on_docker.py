"""A routed service's pull-request preview is routed at pr-<N>.<host> on the same server's
proxy (issue 16 item 7), on the real daemon with the real Caddy image: production keeps
answering through the proxy, without one error, while the preview is deployed beside it
and after its teardown removed the preview's route."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from berth.auth.api_tokens import create_api_token
from berth.models.enums import Role
from berth.runner.labels import PROXY, SERVER, load_installation
from berth.runner.proxy.caddy import ProxyRoute, routes_in
from berth.schema.ids import pk_of
from tests.conftest import Database
from tests.docker_fixtures import APP_PORT, GIT_VERSION, PAGE_PATH, GitRepo, app_page
from tests.runner.traffic import TrafficLoop, get
from tests.support.live_server import LiveServer, free_port, running_server, server_env
from tests.support.names import unique
from tests.support.polling import wait_until
from tests.webhooks.preview_support import DEADLINE, graphql, hooked_service, push_branch


@pytest.fixture
def routed_preview_server(database: Database, tmp_path: Path, proxy_image: str) -> Iterator[LiveServer]:
    env = server_env(database.url, database.data_dir, BERTH_ALLOW_FILE_REPOS="1", BERTH_PROXY_IMAGE=proxy_image,
                     BERTH_OBSERVER_INTERVAL_SECONDS="1", BERTH_STABLE_SECONDS="1")
    with running_server(tmp_path / "server.log", env) as live:
        yield live


def proxy_routes(client: docker.DockerClient, server_pk: int) -> list[ProxyRoute]:
    """The routes Caddy itself carries now (its admin API, from inside the proxy container)."""
    [proxy] = client.containers.list(filters={"label": [f"{PROXY}=true", f"{SERVER}={server_pk}"]})
    result = proxy.exec_run(["wget", "-q", "-O", "-", "http://localhost:2019/config/"])
    assert result.exit_code == 0, result.output
    config: dict[str, Any] = json.loads(result.output or b"null")
    return routes_in(config)


@pytest.mark.parametrize("database", ["postgres"], indirect=True)
async def test_a_preview_is_routed_beside_production_and_its_route_goes_with_it(
    db: Database, routed_preview_server: LiveServer, git_repo: GitRepo, docker_client: docker.DockerClient,
) -> None:
    await load_installation()
    port = free_port()
    host = f"{unique('app')}.example.test"
    preview_host = f"pr-7.{host}"
    # A server of its own on the local daemon, its proxy on a loopback port of this test.
    _, token = await create_api_token(unique("routes"), Role.OWNER, None, [], None, "test", None)
    endpoint = next(s["dockerHost"] for s in graphql(routed_preview_server, token, "{ servers { name dockerHost } }")[
        "servers"] if s["name"] == "local")
    made = graphql(
        routed_preview_server, token,
        "mutation ($i: CreateServerInput!) { createServer(input: $i) { server { id } errors { message } } }",
        {"i": {"name": unique("routed"), "dockerHost": endpoint, "proxyListen": f"127.0.0.1:{port}"}},
    )["createServer"]
    assert made["server"], made
    server_pk = pk_of(made["server"]["id"], "Server")
    hooked = await hooked_service(routed_preview_server, "github", {
        "type": "DOCKERFILE", "repository": git_repo.url, "branch": "main"},
        server_id=made["server"]["id"], route={"host": host, "containerPort": APP_PORT, "drainSeconds": 1})

    production = hooked.query(
        "mutation ($s: ID!) { startDeployment(input: {serviceId: $s}) { deployment { id } errors { message } } }",
        {"s": hooked.service_id})["startDeployment"]["deployment"]["id"]
    hooked.concluded(production)
    assert get(port, host).body == app_page(GIT_VERSION)

    # Opened: the preview is deployed while production answers a bounded request loop.
    head = push_branch(git_repo, "feature/routed", {PAGE_PATH: app_page("routed-preview")}, "routed preview")
    with TrafficLoop(port, host, max_seconds=DEADLINE) as loop:
        wait_until(lambda: loop.count(lambda a: a.ok) >= 5 or None, 30, "production answering through the proxy")
        opened = hooked.pull_request(7, head_sha=head, head_ref="feature/routed")
        assert opened["outcome"] == "PREVIEW_DEPLOYED", opened
        record = hooked.concluded(opened["deployment"])
        wait_until(lambda: get(port, preview_host).body == app_page("routed-preview") or None, 30,
                   "the preview answering at its host")
        seen = loop.count(lambda a: True)
        wait_until(lambda: loop.count(lambda a: True) >= seen + 5 or None, 30, "requests after the preview's switch")
    answers = loop.stop()
    errors = [a for a in answers if not a.ok or a.body != app_page(GIT_VERSION)]
    assert not errors, f"{len(errors)} of {len(answers)} production requests went wrong, first: {errors[0]}"

    # The preview's deployment froze its own route; the preview shows its URL.
    assert record["frozenInput"]["route"]["host"] == preview_host
    assert record["frozenInput"]["route"]["containerPort"] == APP_PORT
    preview = hooked.preview(7)
    assert preview["addresses"] == [f"http://{preview_host}"], preview
    preview_pk = pk_of(preview["id"], "PreviewEnvironment")
    lanes = {(r.host, r.preview_id) for r in proxy_routes(docker_client, server_pk)}
    assert lanes == {(host, None), (preview_host, preview_pk)}, lanes

    # Closed: the teardown takes the preview's route out; production's stays and answers.
    closed = hooked.pull_request(7, action="closed", head_sha=head, head_ref="feature/routed")
    assert closed["outcome"] == "PREVIEW_CLOSED", closed
    hooked.wait_status(7, "CLEANED")
    assert [(r.host, r.preview_id) for r in proxy_routes(docker_client, server_pk)] == [(host, None)]
    assert get(port, preview_host).body != app_page("routed-preview")
    assert get(port, host).body == app_page(GIT_VERSION)
