"""Idempotency keys end to end (CONTRACT §3): same key and input replays the original, other
input is IDEMPOTENCY_KEY_REUSED, per credential and per mutation, refused calls are not
recorded, and all of it holds across a server restart and for concurrent duplicates."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from berth.models import Deployment as DeploymentRow
from berth.models import IdempotencyKey
from tests.domain import succeed
from tests.support.graphql import ERRORS
from tests.support.names import unique

from .conftest import Api, pk

START = f"mutation M($input: StartDeploymentInput!) {{ startDeployment(input: $input) {{ deployment {{ id number }} {ERRORS} }} }}"
DIGEST = "registry.example.test/team/app@sha256:"


async def deployments_of(service: dict[str, Any]) -> list[int]:
    return list(await DeploymentRow.filter(service_id=pk(service["id"])).order_by("id").values_list("id", flat=True))


async def test_same_key_same_input_returns_the_original(api: Api) -> None:
    service = await api.create_service()
    key = unique("key")
    first = await api.start(service, idempotencyKey=key, imageTag="v2", reason="ship")
    again = await api.start(service, idempotencyKey=key, imageTag="v2", reason="ship")
    assert again["id"] == first["id"] and again["number"] == 1
    assert await deployments_of(service) == [pk(first["id"])]
    # Still the original after a newer deployment superseded it.
    newer = await api.start(service, selection="id")
    replay = await api.start(service, idempotencyKey=key, imageTag="v2", reason="ship",
                             selection="id status conclusion")
    assert replay == {"id": first["id"], "status": "COMPLETED", "conclusion": "SKIPPED"}
    assert await deployments_of(service) == [pk(first["id"]), pk(newer["id"])]


async def test_same_key_other_input_is_refused(api: Api) -> None:
    service = await api.create_service()
    other_service = await api.create_service()
    key = unique("key")
    await api.start(service, idempotencyKey=key, imageTag="v2")
    before = await api.snapshot()
    for changed in ({"imageTag": "v3"}, {"imageTag": "v2", "reason": "different"},
                    {"imageTag": "v2", "serviceId": other_service["id"]}):
        refused = await api.mutate("startDeployment", {"serviceId": service["id"], "idempotencyKey": key, **changed},
                                   "deployment { id }")
        assert refused["deployment"] is None
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [
            ("IDEMPOTENCY_KEY_REUSED", ["input", "idempotencyKey"])]
    assert await api.snapshot() == before


async def test_keys_belong_to_one_credential_and_one_mutation(api: Api) -> None:
    service = await api.create_service()
    key = unique("key")
    mine = await api.start(service, idempotencyKey=key, selection="id")
    await succeed(pk(mine["id"]), imageDigest=DIGEST + "1" * 64)
    theirs = await api.start(service, role="operator", idempotencyKey=key, selection="id")
    assert theirs["id"] != mine["id"]
    await succeed(pk(theirs["id"]), imageDigest=DIGEST + "2" * 64)
    # The same key on another mutation is another key.
    rollback = await api.ok("rollbackDeployment", {"serviceId": service["id"], "idempotencyKey": key},
                            "deployment { id rollbackOf { id } }")
    assert rollback["deployment"]["rollbackOf"] == {"id": mine["id"]}
    # Rollback retries replay the original even though the default target has moved since.
    await succeed(pk(rollback["deployment"]["id"]))
    retry = await api.ok("rollbackDeployment", {"serviceId": service["id"], "idempotencyKey": key},
                         "deployment { id }")
    assert retry["deployment"]["id"] == rollback["deployment"]["id"]
    before = await api.snapshot()
    reused = await api.mutate("rollbackDeployment", {"serviceId": service["id"], "idempotencyKey": key,
                                                     "toDeploymentId": theirs["id"]}, "deployment { id }")
    assert [e["code"] for e in reused["errors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert await api.snapshot() == before
    assert len(await deployments_of(service)) == 3


async def test_refused_calls_are_not_recorded(api: Api) -> None:
    server = await api.create_server(maxQueuedDeployments=1)
    project = await api.create_project()
    blocking, waiting = await api.create_service(server, project), await api.create_service(server, project)
    queued = await api.start(blocking, selection="id")
    key = unique("key")
    full = await api.mutate("startDeployment", {"serviceId": waiting["id"], "idempotencyKey": key}, "deployment { id }")
    assert [e["code"] for e in full["errors"]] == ["QUEUE_FULL"]
    assert await IdempotencyKey.filter(key=key).count() == 0
    await api.ok("cancelDeployment", {"deploymentId": queued["id"]}, "deployment { id }")
    created = await api.start(waiting, idempotencyKey=key, selection="id")
    assert await deployments_of(waiting) == [pk(created["id"])]


async def test_keys_survive_a_server_restart(api: Api) -> None:
    service = await api.create_service()
    key = unique("key")
    original = await api.start(service, idempotencyKey=key, imageTag="v7", selection="id number")
    api.server.restart()
    replay = await api.start(service, idempotencyKey=key, imageTag="v7", selection="id number")
    assert replay == original
    refused = await api.mutate("startDeployment", {"serviceId": service["id"], "idempotencyKey": key,
                                                   "imageTag": "v8"}, "deployment { id }")
    assert [e["code"] for e in refused["errors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert await deployments_of(service) == [pk(original["id"])]
    # A restart loses no queued deployment (its runner is kept off this server, see conftest).
    assert (await api.deployment(original["id"], "status queuePosition")) == {"status": "QUEUED", "queuePosition": 1}


async def _parallel(api: Api, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    token = await api.token()

    async def one(client: httpx.AsyncClient, variables: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(api.server.url + "/graphql", json={"query": START, "variables": variables},
                                     headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert not body.get("errors"), body
        payload: dict[str, Any] = body["data"]["startDeployment"]
        return payload

    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=len(inputs))) as client:
        return await asyncio.gather(*(one(client, {"input": values}) for values in inputs))


async def test_ten_identical_requests_in_parallel_create_one_deployment(api: Api) -> None:
    service = await api.create_service()
    key = unique("key")
    payloads = await _parallel(api, [{"serviceId": service["id"], "idempotencyKey": key, "imageTag": "v1"}] * 10)
    assert all(p["errors"] == [] for p in payloads), payloads
    ids = {p["deployment"]["id"] for p in payloads}
    assert len(ids) == 1
    assert await deployments_of(service) == [pk(ids.pop())]
    assert await IdempotencyKey.filter(key=key).count() == 1


async def test_parallel_requests_with_two_inputs_for_one_key(api: Api) -> None:
    service = await api.create_service()
    key = unique("key")
    inputs = [{"serviceId": service["id"], "idempotencyKey": key, "imageTag": tag} for tag in ["a", "b"] * 5]
    payloads = await _parallel(api, inputs)
    created = await deployments_of(service)
    assert len(created) == 1
    winner = await DeploymentRow.get(id=created[0])
    for values, payload in zip(inputs, payloads, strict=True):
        if values["imageTag"] == winner.input["imageTag"]:
            assert payload["errors"] == [] and pk(payload["deployment"]["id"]) == winner.id
        else:
            assert payload["deployment"] is None
            assert [e["code"] for e in payload["errors"]] == ["IDEMPOTENCY_KEY_REUSED"]
