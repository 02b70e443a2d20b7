"""Protected environments on real Docker, with `berth serve` and its embedded runner: a
deployment an agent starts waits QUEUED (the runner runs other work past it and never claims
it), the agent and the starter cannot approve it, another operator's approval lets it run to
SUCCEEDED, subscribers see the decision live, and a rejection concludes one with its comment."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import docker
import pytest

from berth.models import Installation
from berth.models.enums import Role
from berth.runner.labels import DEPLOYMENT, INSTALLATION
from berth.schema.ids import pk_of
from tests.conftest import Database
from tests.docker_fixtures import BusyboxImage
from tests.subscriptions.conftest import database_env, sqlite_only
from tests.subscriptions.support import token
from tests.support.graphql import GqlStream, GraphQLClient
from tests.support.live_server import LiveServer, running_server
from tests.support.names import unique

DEADLINE = 120.0
APPROVAL = "approval { state required decisions { actor { subject role } approved comment at } }"
RECORD = f"id number status conclusion queuePosition cancelReason error {{ code message }} {APPROVAL}"
DECIDE = """mutation ($input: DecideDeploymentInput!) {
  %s(input: $input) { deployment { %s } errors { code message field } }
}"""
EVENTS = """subscription ($id: ID!) {
  deploymentEvents(deploymentId: $id) { seq type status conclusion deployment { id approval { state } } }
}"""


@pytest.fixture
def served(database: Database, tmp_path: Path) -> Any:
    with running_server(tmp_path / "serve.log", database_env(database)) as server:
        yield server


def call(server: LiveServer, secret: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    with GraphQLClient(server.url, secret, timeout=30) as client:
        return client.body(query, variables)


def decide(server: LiveServer, secret: str, mutation: str, deployment_id: str,
           comment: str | None = None) -> dict[str, Any]:
    return call(server, secret, DECIDE % (mutation, RECORD), {"input": {"deploymentId": deployment_id,
                                                                      "comment": comment}})


def start(server: LiveServer, secret: str, service_id: str) -> dict[str, Any]:
    body = call(server, secret, "mutation ($s: ID!) { startDeployment(input: {serviceId: $s}) "
                f"{{ deployment {{ {RECORD} }} errors {{ code }} }} }}", {"s": service_id})
    payload = body["data"]["startDeployment"]
    assert payload["errors"] == [], payload
    return dict(payload["deployment"])


def read(server: LiveServer, secret: str, deployment_id: str) -> dict[str, Any]:
    body = call(server, secret, f"query ($id: ID!) {{ deployment(id: $id) {{ {RECORD} }} }}", {"id": deployment_id})
    return dict(body["data"]["deployment"])


async def wait_concluded(server: LiveServer, secret: str, deployment_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE
    while True:
        record = read(server, secret, deployment_id)
        if record["conclusion"] is not None:
            return record
        assert time.monotonic() < deadline, (record, server.log()[-3000:])
        await asyncio.sleep(0.2)  # polling the record with a deadline; the event stream reads meanwhile


def create_service(server: LiveServer, secret: str, image: str) -> dict[str, Any]:
    with GraphQLClient(server.url, secret, timeout=30) as client:
        local = next(s["id"] for s in client.query("{ servers { id name } }")["servers"] if s["name"] == "local")
        project = client.mutate("createProject", {"name": unique("p")}, "project { id }")
        service = client.mutate(
            "createService",
            {"projectId": project["project"]["id"], "environment": "production", "name": unique("s"),
             "serverId": local, "source": {"type": "IMAGE", "image": image}},
            "service { id environment { id requiredApprovals } }",
        )
    assert service["errors"] == [], service
    return dict(service["service"])


def containers_of(client: docker.DockerClient, uid: str, deployment_id: str) -> list[Any]:
    pk = pk_of(deployment_id, "Deployment")
    return list(client.containers.list(all=True, filters={"label": [f"{INSTALLATION}={uid}", f"{DEPLOYMENT}={pk}"]}))


@sqlite_only
async def test_an_agents_deployment_waits_for_another_operator(
    db: Database, served: LiveServer, busybox_image: BusyboxImage, docker_client: docker.DockerClient,
) -> None:
    owner, agent = await token(), await token(Role.AGENT)
    starter, reviewer = await token(Role.OPERATOR), await token(Role.OPERATOR)
    protected = create_service(served, owner, busybox_image.ref("v1"))
    elsewhere = create_service(served, owner, busybox_image.ref("v1"))
    updated = call(served, owner, "mutation ($e: ID!) { updateEnvironment(input: {environmentId: $e, "
                   "requiredApprovals: 1}) { environment { requiredApprovals } errors { code } } }",
                   {"e": protected["environment"]["id"]})
    assert updated["data"]["updateEnvironment"] == {"environment": {"requiredApprovals": 1}, "errors": []}

    waiting = start(served, agent, protected["id"])
    assert (waiting["status"], waiting["queuePosition"]) == ("QUEUED", None)
    assert waiting["approval"] == {"state": "PENDING", "required": 1, "decisions": []}
    events = GqlStream(served.ws_url, owner, EVENTS, {"id": waiting["id"]}).start()

    # The runner is running: work started after it, elsewhere on the same server, runs past it.
    other = start(served, owner, elsewhere["id"])
    assert (await wait_concluded(served, owner, other["id"]))["conclusion"] == "SUCCEEDED"
    assert read(served, owner, waiting["id"])["status"] == "QUEUED"
    uid = (await Installation.first()).uid  # type: ignore[union-attr]
    assert containers_of(docker_client, uid, waiting["id"]) == []

    # The agent has no deploy:approve; the reviewer is not the starter and may.
    refused = decide(served, agent, "approveDeployment", waiting["id"])
    assert refused["data"] == {"approveDeployment": None}
    assert refused["errors"][0]["extensions"]["missingScopes"] == ["deploy:approve"]
    approved = decide(served, reviewer, "approveDeployment", waiting["id"], "checked the tag")
    payload = approved["data"]["approveDeployment"]
    assert payload["errors"] == [], payload
    assert payload["deployment"]["approval"]["state"] == "APPROVED"
    assert [(d["actor"]["role"], d["approved"], d["comment"]) for d in payload["deployment"]["approval"]["decisions"]] == [
        ("OPERATOR", True, "checked the tag")]
    assert (await wait_concluded(served, owner, waiting["id"]))["conclusion"] == "SUCCEEDED"
    assert containers_of(docker_client, uid, waiting["id"]), "the approved deployment runs a container"
    await events.collector.wait_done(DEADLINE)
    assert events.collector.completed, (events.collector.errors, events.collector.closed)
    types = [item["type"] for item in events.collector.items]
    assert types[:2] == ["CREATED", "APPROVAL_DECIDED"] and types[-1] == "CONCLUDED", types
    assert events.collector.items[-1]["conclusion"] == "SUCCEEDED"

    # An operator's own deployment: not by them; rejected by the other, with the comment.
    own = start(served, starter, protected["id"])
    selfish = decide(served, starter, "approveDeployment", own["id"])["data"]["approveDeployment"]
    assert [e["code"] for e in selfish["errors"]] == ["SELF_APPROVAL"] and selfish["deployment"] is None
    silent = decide(served, reviewer, "rejectDeployment", own["id"])["data"]["rejectDeployment"]
    assert [e["field"] for e in silent["errors"]] == [["input", "comment"]]
    rejected = decide(served, reviewer, "rejectDeployment", own["id"], "not during the freeze")
    record = rejected["data"]["rejectDeployment"]["deployment"]
    assert (record["status"], record["conclusion"], record["cancelReason"]) == (
        "FAILED", "CANCELED", "not during the freeze")
    assert record["approval"]["state"] == "REJECTED"
    assert record["approval"]["decisions"][0]["approved"] is False
    assert containers_of(docker_client, uid, own["id"]) == []
