"""Documents follow the scopes of the edges (CONTRACT §2): a credential without server:read
(or service:read) gets FORBIDDEN on the edge and a redaction marker, never the data, inside
configSnapshot, declaredConfig and the artifact (field and download) — ISSUE 13 defect 4."""

from __future__ import annotations

import json
from typing import Any

from tests.domain import succeed

from .conftest import Api, pk

DOCKER_HOST = "tcp://127.0.0.1:23751"
DOCUMENTS = "configSnapshot declaredConfig frozenInput artifact"
NEEDS_SERVER = {"redacted": "requires server:read"}
NEEDS_SERVICE = {"redacted": "requires service:read"}


async def _world(api: Api) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
    server = await api.create_server(dockerHost=DOCKER_HOST)
    project = await api.create_project()
    service = await api.create_service(server, project)
    deployment = await api.start(service, selection="id")
    await succeed(pk(deployment["id"]))  # the artifact then holds a concluded record
    return server, project, service, deployment


def _read(api: Api, deployment_id: str, token: str) -> dict[str, Any]:
    body = api.post(f"query Q($id: ID!) {{ deployment(id: $id) {{ id server {{ id }} service {{ id }} {DOCUMENTS} }} }}",
                    {"id": deployment_id}, token)  # fmt: skip
    return body


def _codes(body: dict[str, Any]) -> dict[str, str]:
    return {error["path"][-1]: error["extensions"]["code"] for error in body.get("errors") or []}


async def test_deploy_read_alone_sees_no_server_or_service_data_in_documents(api: Api) -> None:
    server, project, service, deployment = await _world(api)
    token = await api.token("viewer", scopes=["deploy:read"])
    body = _read(api, deployment["id"], token)
    assert _codes(body) == {"server": "FORBIDDEN", "service": "FORBIDDEN"}
    record = body["data"]["deployment"]
    text = json.dumps(record)
    for other_types_data in (DOCKER_HOST, server["name"], service["name"], project["name"]):
        assert other_types_data not in text

    snapshot = record["configSnapshot"]
    assert snapshot["server"] == NEEDS_SERVER
    assert snapshot["service"] == snapshot["project"] == snapshot["environment"] == NEEDS_SERVICE
    assert snapshot["sourceType"] == "IMAGE" and snapshot["source"]["image"]  # its own data stays
    target = record["declaredConfig"]["target"]
    assert target == {"server": NEEDS_SERVER, "service": NEEDS_SERVICE, "project": NEEDS_SERVICE,
                      "environment": NEEDS_SERVICE}  # fmt: skip
    artifact = record["artifact"]
    assert artifact["server"] == NEEDS_SERVER and artifact["service"] == NEEDS_SERVICE
    assert artifact["configSnapshot"] == snapshot and artifact["declaredConfig"] == record["declaredConfig"]
    assert artifact["conclusion"] == "SUCCEEDED" and artifact["number"] == 1

    # The download is the same document, and its name shows no name the caller may not read.
    url = f"{api.server.url}/api/v1/deployments/{deployment['id']}/artifact"
    response = api.http.get(url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json() == artifact
    assert DOCKER_HOST not in response.text and server["name"] not in response.text
    assert response.headers["content-disposition"] == 'attachment; filename="deployment_1.json"'


async def test_each_missing_scope_hides_only_its_parts(api: Api) -> None:
    server, project, service, deployment = await _world(api)
    with_server = await api.token("viewer", scopes=["deploy:read", "server:read"])
    record = _read(api, deployment["id"], with_server)["data"]["deployment"]
    assert record["configSnapshot"]["server"]["dockerHost"] == DOCKER_HOST
    assert record["configSnapshot"]["service"] == NEEDS_SERVICE
    assert record["artifact"]["server"] == {"id": server["id"], "name": server["name"]}

    with_service = await api.token("viewer", scopes=["deploy:read", "service:read"])
    record = _read(api, deployment["id"], with_service)["data"]["deployment"]
    assert record["configSnapshot"]["server"] == NEEDS_SERVER
    assert record["configSnapshot"]["service"] == {"id": pk(service["id"]), "name": service["name"]}
    assert record["artifact"]["project"] == {"id": project["id"], "name": project["name"]}
    # A service's own declaredConfig names its server only for server:read too.
    data = await api.query("query Q($s: ID!) { service(id: $s) { declaredConfig } }", {"s": service["id"]},
                           token=with_service)  # fmt: skip
    assert data["service"]["declaredConfig"]["target"]["server"] == NEEDS_SERVER

    # Every scope: nothing is redacted.
    owner = _read(api, deployment["id"], await api.token())
    assert "errors" not in owner and "redacted" not in json.dumps(owner)
    assert owner["data"]["deployment"]["configSnapshot"]["server"]["dockerHost"] == DOCKER_HOST
