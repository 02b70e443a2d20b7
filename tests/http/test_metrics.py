"""`GET /metrics`: scraped from a real server after real deployments on Docker and parsed
with prometheus-client's own parser; the database gauges on both dialects."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from berth.auth.api_tokens import create_api_token
from berth.domain.gauges import read_gauges
from berth.models import AuditEvent, Deployment, Server
from berth.models.enums import ApprovalState, DeploymentConclusion, DeploymentStatus, Role, SourceType
from berth.models.lifecycle import now
from tests.conftest import Database
from tests.docker_fixtures import APP_PORT, BusyboxImage
from tests.models.factories import make_deployment, make_service
from tests.support.graphql import TRANSPORT_WS
from tests.support.live_server import LiveServer, running_server, server_env
from tests.support.names import unique
from tests.support.polling import wait_until
from tests.support.websocket import RawSocket

SCRAPE_TOKEN = "scrape-" + "s3cret" * 4
DEADLINE = 120.0


@pytest.fixture
def server(database: Database, tmp_path: Path) -> Iterator[LiveServer]:
    env = server_env(database.url, database.data_dir, BERTH_METRICS_TOKEN=SCRAPE_TOKEN)
    with running_server(tmp_path / "server.log", env) as live:
        yield live


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape, keyed by name and labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(scraped: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float | None:
    return scraped.get((name, frozenset(labels.items())))


def graphql(server: LiveServer, secret: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.post(server.url + "/graphql", json={"query": query, "variables": variables or {}},
                          headers={"Authorization": f"Bearer {secret}"}, timeout=30)
    body: dict[str, Any] = response.json()
    assert not body.get("errors"), body
    return body["data"]


def scrape(server: LiveServer) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = httpx.get(server.url + "/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_a_scrape_after_real_deployments_counts_what_happened(
    db: Database, server: LiveServer, busybox_image: BusyboxImage,
) -> None:
    for refused in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": SCRAPE_TOKEN}):
        answer = httpx.get(server.url + "/metrics", headers=refused, timeout=30)
        assert answer.status_code == 401 and SCRAPE_TOKEN not in answer.text
    # The two refused credentials (none sent is not one) are one folded audit entry.
    refusals = await AuditEvent.filter(action="auth.refused").values_list("details", flat=True)
    assert refusals == [{"reason": "metrics token is not valid", "transport": "http"}]
    _, secret = await create_api_token("metrics", Role.OWNER, None, [], None, "test", None)
    local = next(s["id"] for s in graphql(server, secret, "{ servers { id name } }")["servers"] if s["name"] == "local")
    project = graphql(server, secret, "mutation ($n: String!) { createProject(input: {name: $n}) { project { id } } }",
                      {"n": unique("metrics")})["createProject"]["project"]["id"]
    service = graphql(
        server, secret,
        "mutation ($i: CreateServiceInput!) { createService(input: $i) { service { id } errors { message } } }",
        {"i": {"projectId": project, "environment": "production", "name": unique("web"), "serverId": local,
               "source": {"type": "IMAGE", "image": busybox_image.ref("v1"), "ports": [f"127.0.0.1::{APP_PORT}"]},
               "healthCheck": {"kind": "HTTP", "port": APP_PORT, "path": "/"}}},
    )["createService"]["service"]["id"]
    start = "mutation ($i: StartDeploymentInput!) { startDeployment(input: $i) { deployment { id } errors { code } } }"

    def deploy(**extra: Any) -> dict[str, Any]:
        started = graphql(server, secret, start, {"i": {"serviceId": service, **extra}})["startDeployment"]
        ident = started["deployment"]["id"]

        def concluded() -> dict[str, Any] | None:
            record = graphql(server, secret, "query ($id: ID!) { deployment(id: $id) { conclusion error { step } } }",
                             {"id": ident})["deployment"]
            return record if record["conclusion"] else None

        return wait_until(concluded, DEADLINE, "the deployment to conclude", interval=0.3)

    assert deploy()["conclusion"] == "SUCCEEDED", server.log()[-2000:]
    failed = deploy(imageTag="no-such-tag")
    assert (failed["conclusion"], failed["error"]["step"]) == ("FAILED", "PULL")

    async with RawSocket(server.ws_url, TRANSPORT_WS) as socket:
        assert (await socket.init(secret) or {}).get("type") == "connection_ack"
        await socket.subscribe("feed", "subscription { deploymentFeed { seq } }", {})

        def feed_open() -> dict[Any, float] | None:
            scraped = scrape(server)
            return scraped if value(scraped, "berth_open_subscriptions", stream="feed") == 1 else None

        scraped = wait_until(feed_open, 20, "the feed to count as open", interval=0.2)

    assert value(scraped, "berth_deployments_run_total", conclusion="SUCCEEDED", source="IMAGE") == 1
    assert value(scraped, "berth_deployments_run_total", conclusion="FAILED", source="IMAGE") == 1
    assert value(scraped, "berth_deployment_duration_seconds_count", conclusion="SUCCEEDED", source="IMAGE") == 1
    assert value(scraped, "berth_step_duration_seconds_count", step="PULL", status="SUCCEEDED") == 1
    assert value(scraped, "berth_step_duration_seconds_count", step="PULL", status="FAILED") == 1
    assert value(scraped, "berth_step_duration_seconds_count", step="HEALTH", status="SUCCEEDED") == 1
    assert value(scraped, "berth_deployments", status="COMPLETED", conclusion="SUCCEEDED", source="IMAGE") == 1
    assert value(scraped, "berth_deployments", status="FAILED", conclusion="FAILED", source="IMAGE") == 1
    assert value(scraped, "berth_queue_depth", server="local") == 0
    assert value(scraped, "berth_running_deployments", server="local") == 0
    assert value(scraped, "berth_awaiting_approval", server="local") == 0
    assert value(scraped, "berth_active_leases") == 0
    mutations = value(scraped, "berth_http_requests_total", route="/graphql", operation="mutation", status="200")
    assert mutations is not None and mutations >= 4  # project, service, two starts
    queries = value(scraped, "berth_http_requests_total", route="/graphql", operation="query", status="200")
    assert queries is not None and queries >= 3
    # The route template, never a path with an id in it.
    assert value(scraped, "berth_http_requests_total", route="/metrics", operation="none", status="401") == 3
    assert not any("deployments/" in dict(labels).get("route", "") for _, labels in scraped)


async def test_database_gauges_count_queues_runs_and_leases(db: Database) -> None:
    server = await Server.create(name=unique("gauge"), docker_host="tcp://127.0.0.1:9")
    service = await make_service(server)
    compose = await make_service(server, source_type=SourceType.COMPOSE, source={"composeContent": "services: {}"})
    for _ in range(3):
        await make_deployment(service)
    running = await make_deployment(compose)
    await Deployment.filter(id=running.id).update(
        status=DeploymentStatus.DEPLOY, claimed_by="runner-a", lease_expires_at=now() + timedelta(minutes=1))
    stale = await make_deployment(compose)
    await Deployment.filter(id=stale.id).update(
        status=DeploymentStatus.PREPARE, claimed_by="runner-b", lease_expires_at=now() - timedelta(minutes=1))
    done = await make_deployment(service)
    await Deployment.filter(id=done.id).update(status=DeploymentStatus.COMPLETED,
                                               conclusion=DeploymentConclusion.SUCCEEDED)
    for _ in range(2):  # into a protected environment: waiting for approvals, no queue slot
        waiting = await make_deployment(service)
        await Deployment.filter(id=waiting.id).update(approval_state=ApprovalState.PENDING)
    approved = await make_deployment(service)
    await Deployment.filter(id=approved.id).update(approval_state=ApprovalState.APPROVED)
    gauges = await read_gauges(now())
    [load] = [s for s in gauges.servers if s.server == server.name]
    assert (load.queued, load.running, load.awaiting_approval) == (4, 2, 2)
    assert gauges.active_leases == 1  # the expired lease is not held
    counted = {(d.status, d.conclusion, d.source): d.count for d in gauges.deployments}
    assert counted[("QUEUED", None, "IMAGE")] == 6  # berth_deployments counts every one
    assert counted[("COMPLETED", "SUCCEEDED", "IMAGE")] == 1
    assert counted[("DEPLOY", None, "COMPOSE")] == 1 and counted[("PREPARE", None, "COMPOSE")] == 1
