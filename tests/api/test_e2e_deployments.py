"""Deployments end to end through the real server: the record `startDeployment` creates (every
field), superseding, queue positions, QUEUE_FULL, cancel and NOT_CANCELABLE, rollback target
selection and NO_ROLLBACK_TARGET, the logs connection, `lastObservedState`, `node`/`deployment`
reads and the artifact download.

Deployments the tests need beyond QUEUED are moved by the test process through the lifecycle
rules (`apply_change`), as a runner would; the servers' runners are kept away (conftest)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from berth.domain.secrets import decrypt_json
from berth.models import Deployment as DeploymentRow
from berth.models import DeploymentEvent, Observation
from berth.models.enums import DriftStatus, LogStream, StepKind, StepStatus
from berth.models.lifecycle import LogEntry, StepChange, append_logs, apply_change
from tests.domain import S, run_to, succeed

from .conftest import DEPLOYMENT_FIELDS, Api, gid, pk

STEP_KINDS = ["CLONE", "BUILD", "PULL", "VOLUME", "START", "HEALTH", "FINALIZE"]
SECRET = "e2e-deploy-secret-7c1f0b9e"
DIGEST = "sha256:"
IMAGE = "registry.example.test:5000/team/app"
REPO = "https://git.example.test/team/app.git"


def parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    assert moment.tzinfo is not None, value  # RFC 3339 with a timezone
    return moment


def digest(char: str) -> str:
    return DIGEST + char * 64


# ---------------------------------------------------------------- the record

async def test_start_records_every_field(api: Api) -> None:
    server = await api.create_server()
    project = await api.create_project()
    service = await api.create_service(
        server, project, {"type": "IMAGE", "image": f"{IMAGE}:v1", "ports": ["127.0.0.1::80"],
                          "volumes": ["data:/data"], "command": ["serve"]},
        env=[{"key": "API_TOKEN", "value": SECRET, "secret": True}, {"key": "MODE", "value": "prod"}],
        healthCheck={"kind": "HTTP", "port": 80, "path": "/health"},
    )
    before = datetime.now(UTC)
    deployment = await api.start(service, imageTag="v2", reason="ship it")
    after = datetime.now(UTC)
    token_id = api.server.token_ids["owner"]

    assert deployment["number"] == 1
    assert (deployment["status"], deployment["conclusion"], deployment["trigger"]) == ("QUEUED", None, "API")
    assert deployment["actor"] == {"subject": f"token:{token_id}", "email": None, "role": "OWNER",
                                   "tokenKind": "API_TOKEN", "tokenName": "e2e owner"}
    assert before - timedelta(seconds=1) <= parse_time(deployment["createdAt"]) <= after + timedelta(seconds=1)
    assert deployment["startedAt"] is None and deployment["concludedAt"] is None
    assert deployment["cancelRequestedAt"] is None and deployment["error"] is None
    assert deployment["reason"] == "ship it" and deployment["cancelReason"] is None
    assert deployment["rollbackOf"] is None and deployment["lastObservedState"] is None
    assert deployment["queuePosition"] == 1
    assert deployment["steps"] == [
        {"kind": kind, "status": "PENDING", "startedAt": None, "completedAt": None, "detail": None}
        for kind in STEP_KINDS
    ]
    assert deployment["service"] == {"id": service["id"], "name": service["name"]}
    assert deployment["project"] == {"id": project["id"], "name": project["name"]}
    assert deployment["environment"] == {"id": service["environment"]["id"], "name": "production"}
    assert deployment["server"] == {"id": server["id"], "name": server["name"]}
    assert deployment["input"] == {
        "sourceType": "IMAGE", "image": IMAGE, "imageTag": "v2", "imageDigest": None, "imageId": None,
        "repository": None, "ref": None, "commitSha": None, "composeFiles": None, "composeProfiles": None,
        "dockerfile": None,
    }

    declared = deployment["declaredConfig"]  # view 1: the service as declared at creation
    assert declared["source"]["image"] == f"{IMAGE}:v1"
    assert declared["env"] == [{"key": "API_TOKEN", "secret": True, "value": "***"},
                               {"key": "MODE", "secret": False, "value": "prod"}]
    assert {k: v["name"] for k, v in declared["target"].items()} == {
        "service": service["name"], "server": server["name"], "environment": "production",
        "project": project["name"]}
    frozen = deployment["frozenInput"]  # view 2: what the runner replays
    assert frozen["image"] == f"{IMAGE}:v2" and frozen["imageOverride"] == {"tag": "v2", "variable": None}
    assert (frozen["ports"], frozen["volumes"], frozen["command"]) == (["127.0.0.1::80"], ["data:/data"], ["serve"])
    assert frozen["env"] == [
        {"key": "API_TOKEN", "source": "service", "secret": True, "value": None},
        {"key": "MODE", "source": "service", "secret": False, "value": "prod"},
    ]
    assert frozen["readinessGate"]["healthCheck"]["path"] == "/health"
    assert frozen["imageDigest"] is None and frozen["commitSha"] is None and frozen["preview"] is None
    snapshot = deployment["configSnapshot"]
    assert snapshot["source"]["image"] == f"{IMAGE}:v2"
    assert snapshot["overrides"] == {"imageTag": "v2", "ref": None}
    assert snapshot["server"]["name"] == server["name"] and snapshot["env"][0]["value"] == "***"

    document = deployment["artifact"]  # the whole record as one document
    assert document["id"] == deployment["id"] and document["number"] == 1
    assert document["status"] == "QUEUED" and document["queuePosition"] == 1
    assert document["trigger"] == "API" and document["actor"] == deployment["actor"]
    assert document["reason"] == "ship it"
    assert document["input"] == deployment["input"]
    assert document["declaredConfig"] == declared and document["frozenInput"] == frozen
    assert document["configSnapshot"] == snapshot
    assert document["steps"] == deployment["steps"]
    assert document["service"] == {"id": service["id"], "name": service["name"]}
    assert document["server"] == {"id": server["id"], "name": server["name"]}
    assert parse_time(document["createdAt"]) == parse_time(deployment["createdAt"])

    # Stored: the secret only as ciphertext beside the frozen input; CREATED is event 1.
    row = await DeploymentRow.get(id=pk(deployment["id"]))
    assert decrypt_json(row.frozen_secrets_enc or "") == {"API_TOKEN": SECRET}
    events = await DeploymentEvent.filter(deployment_id=row.id).order_by("seq")
    assert [(e.seq, e.type, e.status) for e in events] == [(1, "CREATED", "QUEUED")]
    assert all(SECRET not in text for text in api.transcript)

    # The same record through deployment(id:), node(id:) and the service's edges.
    assert await api.deployment(deployment["id"]) == deployment
    data = await api.query(
        f'query Q($id: ID!, $s: ID!) {{ node(id: $id) {{ ... on Deployment {{ {DEPLOYMENT_FIELDS} }} }} '
        f'service(id: $s) {{ latestDeployment {{ id }} deployments {{ totalCount nodes {{ id }} }} }} }}',
        {"id": deployment["id"], "s": service["id"]},
    )
    assert data["node"] == deployment
    assert data["service"]["latestDeployment"] == {"id": deployment["id"]}
    assert data["service"]["deployments"] == {"totalCount": 1, "nodes": [{"id": deployment["id"]}]}


async def test_records_of_repository_and_compose_sources(api: Api) -> None:
    server = await api.create_server()
    project = await api.create_project()
    dockerfile = await api.create_service(
        server, project, {"type": "DOCKERFILE", "repository": REPO, "branch": "main", "dockerfile": "Dockerfile"})
    built = await api.start(dockerfile, ref="v1.2.3")
    assert built["input"] == {
        "sourceType": "DOCKERFILE", "image": None, "imageTag": None, "imageDigest": None, "imageId": None,
        "repository": REPO, "ref": "v1.2.3", "commitSha": None, "composeFiles": None, "composeProfiles": None,
        "dockerfile": "Dockerfile",
    }
    assert built["frozenInput"]["ref"] == "v1.2.3" and built["configSnapshot"]["source"]["ref"] == "v1.2.3"
    assert built["declaredConfig"]["source"]["branch"] == "main"
    default_ref = await api.start(dockerfile)
    assert default_ref["input"]["ref"] == "main" and default_ref["number"] == 2

    content = "services:\n  web:\n    image: nginx:${BERTH_IMAGE_TAG:-alpine}\n"
    inline = await api.create_service(server, project, {"type": "COMPOSE", "composeContent": content})
    stack = await api.start(inline, imageTag="1.27")
    frozen = stack["frozenInput"]
    assert frozen["composeFiles"] == [{"path": "compose.yaml", "content": content}]
    assert frozen["imageOverride"] == {"tag": "1.27", "variable": "BERTH_IMAGE_TAG"}
    assert frozen["composeProject"] == f"berth-{project['name']}-production-{inline['name']}"
    assert stack["input"]["sourceType"] == "COMPOSE" and stack["input"]["imageTag"] == "1.27"

    from_repo = await api.create_service(
        server, project, {"type": "COMPOSE", "repository": REPO, "composeFiles": ["a.yaml", "b.yaml"],
                          "composeProfiles": ["web"]})
    repo_stack = await api.start(from_repo, ref="release")
    assert repo_stack["input"]["composeFiles"] == ["a.yaml", "b.yaml"]
    assert repo_stack["input"]["composeProfiles"] == ["web"] and repo_stack["input"]["ref"] == "release"
    assert repo_stack["frozenInput"]["composeFiles"] == [{"path": "a.yaml", "content": None},
                                                         {"path": "b.yaml", "content": None}]


async def test_trigger_and_actor_come_from_the_credential(api: Api) -> None:
    service = await api.create_service()
    agent = await api.start(service, role="agent", selection="trigger actor { role tokenKind tokenName }")
    assert agent == {"trigger": "AGENT", "actor": {"role": "AGENT", "tokenKind": "API_TOKEN",
                                                   "tokenName": "e2e agent"}}
    operator = await api.start(service, role="operator", selection="trigger actor { role }")
    assert operator == {"trigger": "API", "actor": {"role": "OPERATOR"}}


# ---------------------------------------------------------------- the queue

async def test_a_newer_start_supersedes_the_queued_one(api: Api) -> None:
    service = await api.create_service()
    first = await api.start(service)
    second = await api.start(service)
    assert second["number"] == 2 and second["status"] == "QUEUED" and second["queuePosition"] == 1
    skipped = await api.deployment(first["id"])
    assert (skipped["status"], skipped["conclusion"], skipped["queuePosition"]) == ("COMPLETED", "SKIPPED", None)
    assert [s["status"] for s in skipped["steps"]] == ["SKIPPED"] * 7
    assert skipped["concludedAt"] is not None and skipped["startedAt"] is None and skipped["error"] is None
    assert skipped["artifact"]["conclusion"] == "SKIPPED"
    events = await DeploymentEvent.filter(deployment_id=pk(first["id"])).order_by("seq")
    assert [e.type for e in events] == ["CREATED", *["STEP_CHANGED"] * 7, "STATUS_CHANGED", "CONCLUDED"]
    assert [e.seq for e in events] == list(range(1, 11))
    assert (events[-1].status, events[-1].conclusion) == ("COMPLETED", "SKIPPED")


async def test_queue_positions_count_per_server(api: Api) -> None:
    server = await api.create_server()
    other_server = await api.create_server()
    project = await api.create_project()
    services = [await api.create_service(server, project) for _ in range(3)]
    queued = [await api.start(service, selection="id queuePosition") for service in services]
    assert [d["queuePosition"] for d in queued] == [1, 2, 3]
    elsewhere = await api.start(await api.create_service(other_server, project), selection="queuePosition")
    assert elsewhere["queuePosition"] == 1

    await api.ok("cancelDeployment", {"deploymentId": queued[0]["id"]}, "deployment { id }")
    data = await api.query(
        "query Q($server: ID!) { deployments(filter: {serverId: $server}) { nodes { id queuePosition } } }",
        {"server": server["id"]},
    )
    positions = {node["id"]: node["queuePosition"] for node in data["deployments"]["nodes"]}
    assert [positions[d["id"]] for d in queued] == [None, 1, 2]
    # Running deployments are not in the queue.
    await run_to(pk(queued[1]["id"]), S.PREPARE)
    again = await api.deployment(queued[2]["id"], "queuePosition artifact")
    assert again["queuePosition"] == 1 and again["artifact"]["queuePosition"] == 1
    assert (await api.deployment(queued[1]["id"], "queuePosition"))["queuePosition"] is None


async def test_queue_full_stores_nothing(api: Api) -> None:
    server = await api.create_server(maxQueuedDeployments=2)
    project = await api.create_project()
    a, b, c = [await api.create_service(server, project) for _ in range(3)]
    first_a = await api.start(a, selection="id")
    first_b = await api.start(b, selection="id")
    before = await api.snapshot()
    refused = await api.mutate("startDeployment", {"serviceId": c["id"]}, "deployment { id }")
    assert refused["deployment"] is None
    assert [e["code"] for e in refused["errors"]] == ["QUEUE_FULL"]
    assert await api.snapshot() == before
    # A start that supersedes its service's queued deployment does not grow the queue.
    second_a = await api.start(a, selection="id status queuePosition")
    assert second_a["status"] == "QUEUED" and second_a["queuePosition"] == 2
    assert (await api.deployment(first_a["id"], "conclusion"))["conclusion"] == "SKIPPED"
    # Room again once one leaves the queue.
    await api.ok("cancelDeployment", {"deploymentId": first_b["id"]}, "deployment { id }")
    assert (await api.start(c, selection="queuePosition"))["queuePosition"] == 2


# ---------------------------------------------------------------- cancel

async def test_cancel_a_queued_deployment(api: Api) -> None:
    service = await api.create_service()
    queued = await api.start(service)
    payload = await api.ok("cancelDeployment", {"deploymentId": queued["id"], "reason": "wrong tag"},
                           f"deployment {{ {DEPLOYMENT_FIELDS} }}")
    canceled = payload["deployment"]
    assert (canceled["status"], canceled["conclusion"]) == ("FAILED", "CANCELED")
    assert canceled["error"] == {"step": None, "code": "CANCELED", "message": "canceled while queued: wrong tag"}
    assert [s["status"] for s in canceled["steps"]] == ["SKIPPED"] * 7
    assert canceled["concludedAt"] is not None and canceled["queuePosition"] is None
    assert canceled["artifact"]["error"] == canceled["error"]
    assert canceled["cancelReason"] == canceled["artifact"]["cancelReason"] == "wrong tag"
    assert await api.deployment(queued["id"]) == canceled
    events = await DeploymentEvent.filter(deployment_id=pk(queued["id"])).order_by("seq")
    assert [e.type for e in events][-2:] == ["STATUS_CHANGED", "CONCLUDED"]
    assert (events[-1].status, events[-1].conclusion) == ("FAILED", "CANCELED")

    # Concluded: NOT_CANCELABLE, and nothing changes.
    before = await api.snapshot()
    again = await api.mutate("cancelDeployment", {"deploymentId": queued["id"]}, "deployment { id }")
    assert again["deployment"] is None
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("NOT_CANCELABLE", ["input", "deploymentId"])]
    assert await api.snapshot() == before


async def test_cancel_a_running_deployment_records_the_request(api: Api) -> None:
    service = await api.create_service()
    running = await api.start(service, selection="id")
    await run_to(pk(running["id"]), S.DEPLOY)
    payload = await api.ok("cancelDeployment", {"deploymentId": running["id"], "reason": "stop"},
                           "deployment { status conclusion cancelRequestedAt concludedAt cancelReason artifact }")
    requested = payload["deployment"]
    assert (requested["status"], requested["conclusion"], requested["concludedAt"]) == ("DEPLOY", None, None)
    assert requested["cancelRequestedAt"] is not None
    assert requested["cancelReason"] == requested["artifact"]["cancelReason"] == "stop"
    events = await DeploymentEvent.filter(deployment_id=pk(running["id"])).order_by("seq")
    assert events[-1].type == "CANCEL_REQUESTED" and events[-1].payload == {"reason": "stop"}
    # Asking again changes nothing.
    before = await api.snapshot()
    again = await api.ok("cancelDeployment", {"deploymentId": running["id"]}, "deployment { cancelRequestedAt }")
    assert again["deployment"]["cancelRequestedAt"] == requested["cancelRequestedAt"]
    assert await api.snapshot() == before


async def test_not_cancelable_once_finalize_started_or_concluded(api: Api) -> None:
    service = await api.create_service()
    in_health = await api.start(service, selection="id")
    await run_to(pk(in_health["id"]), S.FINALIZE)
    await apply_change(pk(in_health["id"]), steps=[StepChange(StepKind.HEALTH, StepStatus.RUNNING)])
    # HEALTH runs in FINALIZE status, before the FINALIZE step: still cancelable.
    ok = await api.ok("cancelDeployment", {"deploymentId": in_health["id"]}, "deployment { cancelRequestedAt }")
    assert ok["deployment"]["cancelRequestedAt"] is not None

    finalizing = await api.start(service, selection="id")
    await run_to(pk(finalizing["id"]), S.FINALIZE)
    await apply_change(pk(finalizing["id"]), steps=[StepChange(StepKind.FINALIZE, StepStatus.RUNNING)])
    succeeded = await api.start(service, selection="id")
    await succeed(pk(succeeded["id"]))
    for deployment in (finalizing, succeeded):
        before = await api.snapshot()
        refused = await api.mutate("cancelDeployment", {"deploymentId": deployment["id"]}, "deployment { id }")
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_CANCELABLE", ["input", "deploymentId"])]
        assert refused["deployment"] is None
        assert await api.snapshot() == before
    unknown = await api.mutate("cancelDeployment", {"deploymentId": gid("Deployment", 10**9)}, "deployment { id }")
    assert [e["code"] for e in unknown["errors"]] == ["NOT_FOUND"]


# ---------------------------------------------------------------- rollback

async def deploy_and_succeed(api: Api, service: dict[str, Any], tag: str, char: str) -> dict[str, Any]:
    started = await api.start(service, imageTag=tag, selection="id")
    await succeed(pk(started["id"]), imageDigest=f"{IMAGE}@{digest(char)}")
    return await api.deployment(started["id"])


async def test_rollback_default_and_explicit_targets(api: Api) -> None:
    service = await api.create_service(env=[{"key": "TOKEN", "value": SECRET, "secret": True}])
    v1 = await deploy_and_succeed(api, service, "v1", "1")
    v2 = await deploy_and_succeed(api, service, "v2", "2")
    await deploy_and_succeed(api, service, "v2b", "2")  # the same artifact as v2: not a target
    # What the service declares now does not matter: a rollback replays the frozen input.
    await api.ok("updateService", {"serviceId": service["id"],
                                   "source": {"type": "IMAGE", "image": f"{IMAGE}:v9"},
                                   "env": [{"key": "TOKEN", "value": "rotated", "secret": True}]}, "service { id }")

    payload = await api.ok("rollbackDeployment", {"serviceId": service["id"], "reason": "bad release"},
                           f"deployment {{ {DEPLOYMENT_FIELDS} }}")
    rollback = payload["deployment"]
    assert rollback["rollbackOf"] == {"id": v1["id"], "number": 1}
    assert rollback["reason"] == rollback["artifact"]["reason"] == "bad release"
    assert rollback["cancelReason"] is None
    assert (rollback["number"], rollback["status"], rollback["trigger"]) == (4, "QUEUED", "API")
    assert rollback["frozenInput"] == v1["frozenInput"]
    assert rollback["frozenInput"]["imageDigest"] == f"{IMAGE}@{digest('1')}"
    assert rollback["input"] == v1["input"]
    assert rollback["configSnapshot"]["rollbackOf"] == {"id": pk(v1["id"]), "number": 1}
    assert rollback["declaredConfig"]["source"]["image"] == f"{IMAGE}:v9"  # view 1: the service now
    assert rollback["artifact"]["rollbackOf"] == v1["id"] and rollback["queuePosition"] == 1
    assert [s["status"] for s in rollback["steps"]] == ["PENDING"] * 7
    row = await DeploymentRow.get(id=pk(rollback["id"]))
    assert decrypt_json(row.frozen_secrets_enc or "") == {"TOKEN": SECRET}  # v1's secrets, replayed

    explicit = await api.ok("rollbackDeployment", {"serviceId": service["id"], "toDeploymentId": v2["id"]},
                            "deployment { id number trigger rollbackOf { id } frozenInput }", role="agent")
    assert explicit["deployment"]["rollbackOf"] == {"id": v2["id"]}
    assert explicit["deployment"]["trigger"] == "AGENT" and explicit["deployment"]["number"] == 5
    assert explicit["deployment"]["frozenInput"] == v2["frozenInput"]
    # It went through the queue rules: the first rollback, still queued, was superseded.
    assert (await api.deployment(rollback["id"], "conclusion"))["conclusion"] == "SKIPPED"
    assert all(SECRET not in text for text in api.transcript)


async def test_no_rollback_target(api: Api) -> None:
    server = await api.create_server()
    project = await api.create_project()
    never = await api.create_service(server, project)
    once = await api.create_service(server, project)
    await deploy_and_succeed(api, once, "v1", "1")
    same = await api.create_service(server, project)
    await deploy_and_succeed(api, same, "v1", "3")
    await deploy_and_succeed(api, same, "v1-again", "3")  # same digest: nothing different to return to
    failed = await api.create_service(server, project)
    await deploy_and_succeed(api, failed, "v1", "4")
    broken = await api.start(failed, imageTag="v2", selection="id")
    await api.ok("cancelDeployment", {"deploymentId": broken["id"]}, "deployment { id }")  # current is still v1
    for service in (never, once, same, failed):
        before = await api.snapshot()
        refused = await api.mutate("rollbackDeployment", {"serviceId": service["id"]}, "deployment { id }")
        assert refused["deployment"] is None
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NO_ROLLBACK_TARGET", ["input", "serviceId"])]
        assert await api.snapshot() == before


# ---------------------------------------------------------------- logs, observations, artifact

async def test_logs_connection_pages_by_seq(api: Api) -> None:
    service = await api.create_service()
    deployment = await api.start(service, selection="id")
    lines = [LogEntry(f"line {n}", LogStream.STDOUT if n % 2 else LogStream.STDERR,
                      StepKind.PULL if n <= 30 else None) for n in range(1, 46)]
    await append_logs(pk(deployment["id"]), lines[:30])
    await append_logs(pk(deployment["id"]), lines[30:])
    query = ("query L($id: ID!, $first: Int, $after: String) { deployment(id: $id) { logs(first: $first, "
             "after: $after) { edges { cursor node { seq timestamp stream step text } } "
             "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }")
    seen: list[dict[str, Any]] = []
    after = None
    pages = []
    while True:
        logs = (await api.query(query, {"id": deployment["id"], "first": 20, "after": after}))["deployment"]["logs"]
        pages.append(logs["pageInfo"])
        seen.extend(edge["node"] for edge in logs["edges"])
        assert logs["pageInfo"]["endCursor"] == logs["edges"][-1]["cursor"]
        if not logs["pageInfo"]["hasNextPage"]:
            break
        after = logs["pageInfo"]["endCursor"]
    assert [line["seq"] for line in seen] == list(range(1, 46))
    assert [line["text"] for line in seen] == [f"line {n}" for n in range(1, 46)]
    assert seen[0]["stream"] == "STDOUT" and seen[1]["stream"] == "STDERR"
    assert seen[0]["step"] == "PULL" and seen[44]["step"] is None
    assert all(parse_time(line["timestamp"]) for line in seen)
    assert [(p["hasNextPage"], p["hasPreviousPage"]) for p in pages] == [(True, False), (True, True), (False, True)]
    # Page sizes are limited like every connection; a cursor that is not one is the caller's mistake.
    for variables in ({"first": 101}, {"first": 0}, {"after": "x"}, {"after": "9" * 30}):
        body = api.post(query, {"id": deployment["id"], **variables}, await api.token())
        assert body["data"]["deployment"]["logs"] is None, body
        assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], body


async def test_last_observed_state_is_the_newest_observation(api: Api) -> None:
    service = await api.create_service()
    deployment = await api.start(service, selection="id")
    await succeed(pk(deployment["id"]), imageDigest=f"{IMAGE}@{digest('a')}")
    service_pk = pk(service["id"])
    moment = datetime.now(UTC).replace(microsecond=0)
    await Observation.create(service_id=service_pk, observed_at=moment - timedelta(minutes=2),
                             drift=DriftStatus.MISSING)
    await Observation.create(
        service_id=service_pk, observed_at=moment - timedelta(minutes=1), drift=DriftStatus.DRIFTED,
        compared_with_id=pk(deployment["id"]),
        containers=[{"name": "app-1", "image": f"{IMAGE}:v1", "imageDigest": f"{IMAGE}@{digest('b')}",
                     "state": "running", "health": "healthy", "deploymentId": str(pk(deployment["id"])),
                     "startedAt": (moment - timedelta(minutes=5)).isoformat()}],
        differences=[{"field": "imageDigest", "expected": f"{IMAGE}@{digest('a')}",
                      "actual": f"{IMAGE}@{digest('b')}"}],
    )
    # An older observation stored later must not win: "newest" is by observation time.
    await Observation.create(service_id=service_pk, observed_at=moment - timedelta(minutes=3),
                             drift=DriftStatus.UNKNOWN)
    selection = ("observedAt drift containers { name image imageDigest state health deploymentId startedAt } "
                 "differences { field expected actual } comparedWith { id number }")
    data = await api.query(
        f"query Q($s: ID!, $d: ID!) {{ service(id: $s) {{ lastObservedState {{ {selection} }} }} "
        f"deployment(id: $d) {{ lastObservedState {{ {selection} }} artifact }} }}",
        {"s": service["id"], "d": deployment["id"]},
    )
    state = data["service"]["lastObservedState"]
    assert data["deployment"]["lastObservedState"] == state
    assert state["drift"] == "DRIFTED" and parse_time(state["observedAt"]) == moment - timedelta(minutes=1)
    assert state["containers"] == [{
        "name": "app-1", "image": f"{IMAGE}:v1", "imageDigest": f"{IMAGE}@{digest('b')}", "state": "running",
        "health": "healthy", "deploymentId": deployment["id"],
        "startedAt": state["containers"][0]["startedAt"],
    }]
    assert parse_time(state["containers"][0]["startedAt"]) == moment - timedelta(minutes=5)
    assert state["differences"] == [{"field": "imageDigest", "expected": f"{IMAGE}@{digest('a')}",
                                     "actual": f"{IMAGE}@{digest('b')}"}]
    assert state["comparedWith"] == {"id": deployment["id"], "number": 1}
    artifact_state = data["deployment"]["artifact"]["lastObservedState"]
    assert artifact_state["drift"] == "DRIFTED" and artifact_state["comparedWith"] == deployment["id"]
    assert [c["deploymentId"] for c in artifact_state["containers"]] == [deployment["id"]]
    assert artifact_state["differences"] == state["differences"]

    # A container whose label names no deployment (not one Berth started) is owned by none.
    await Observation.create(service_id=service_pk, observed_at=moment, drift=DriftStatus.IN_SYNC,
                             containers=[{"name": "stray", "image": "x", "state": "running",
                                          "deploymentId": "not-a-number"}])
    newest = await api.query("query Q($s: ID!) { service(id: $s) { lastObservedState { drift comparedWith { id } "
                             "containers { name deploymentId } } } }", {"s": service["id"]})
    assert newest["service"]["lastObservedState"] == {
        "drift": "IN_SYNC", "comparedWith": None, "containers": [{"name": "stray", "deploymentId": None}]}


async def test_artifact_download_equals_the_artifact_field(api: Api) -> None:
    server = await api.create_server()
    project = await api.create_project()
    service = await api.create_service(server, project, env=[{"key": "K", "value": SECRET, "secret": True}])
    deployment = await api.start(service, selection="id artifact")
    await append_logs(pk(deployment["id"]), [LogEntry("hello")])
    field = (await api.deployment(deployment["id"], "artifact"))["artifact"]
    url = f"{api.server.url}/api/v1/deployments/{deployment['id']}/artifact"

    response = api.http.get(url, headers={"Authorization": f"Bearer {await api.token()}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    disposition = response.headers["content-disposition"]
    # Named by place and number, never by row id.
    expected_file = f'{project["name"]}_production_{service["name"]}_1.json'
    assert disposition == f'attachment; filename="{expected_file}"', disposition
    assert f"-{pk(deployment['id'])}." not in disposition
    assert response.json() == field
    assert SECRET not in response.text and SECRET not in json.dumps(field)
    # deploy:read is enough (a viewer); without it, or without a credential, refused.
    viewer = api.http.get(url, headers={"Authorization": f"Bearer {await api.token('viewer')}"})
    assert viewer.status_code == 200 and viewer.json() == field
    anonymous = api.http.get(url)
    assert anonymous.status_code == 401 and "Bearer" in anonymous.headers["www-authenticate"]
    bad = api.http.get(url, headers={"Authorization": "Bearer berth_pat_" + "x" * 43})
    assert bad.status_code == 401
    no_scope = await api.token("viewer", scopes=["service:read"])
    forbidden = api.http.get(url, headers={"Authorization": f"Bearer {no_scope}"})
    assert forbidden.status_code == 403 and forbidden.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    other_project = await api.create_project()
    limited = await api.token("viewer", project_ids=[pk(other_project["id"])])
    hidden = api.http.get(url, headers={"Authorization": f"Bearer {limited}"})
    assert hidden.status_code == 404
    for missing_id in (gid("Deployment", 10**9), gid("Service", pk(deployment["id"])), "9" * 25, "²", "x"):
        missing = api.http.get(f"{api.server.url}/api/v1/deployments/{missing_id}/artifact",
                               headers={"Authorization": f"Bearer {await api.token()}"})
        assert missing.status_code == 404, (missing_id, missing.text)
        assert missing.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
