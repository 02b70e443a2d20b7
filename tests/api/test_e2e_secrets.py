"""Planted secrets (CONTRACT §3, §4, §6): secret env values and server key material go in
through the API, are used by starts, updates, rollbacks and cancels, and are then searched
for in every API response, the artifact downloads, the deployment events (over the
subscription and as stored), the server log and a dump of the database. Only ciphertext may
hold them: the test decrypts that ciphertext to prove the values were stored at all, and a
plain (non-secret) value planted beside them is found in the same places, to prove the search
would have found a leak."""

from __future__ import annotations

import json
import uuid

from berth.domain.secrets import decrypt, decrypt_json
from berth.models import Deployment as DeploymentRow
from berth.models import DeploymentEvent
from berth.models import Server as ServerRow
from berth.models import Service as ServiceRow
from tests.domain import succeed
from tests.support.collector import Collector
from tests.support.graphql import TRANSPORT_WS
from tests.support.websocket import RawSocket

from .conftest import DEPLOYMENT_FIELDS, SERVER_FIELDS, SERVICE_FIELDS, Api, pk

EVENTS = """subscription E($id: ID!) { deploymentEvents(deploymentId: $id) {
  seq type at status conclusion step { kind status detail }
  deployment { id status frozenInput configSnapshot declaredConfig artifact }
} }"""


def marker(kind: str) -> str:
    return f"{kind}{uuid.uuid4().hex}"


async def test_planted_secrets_appear_nowhere_but_as_ciphertext(api: Api) -> None:
    secret = marker("plantedSecret")
    rotated = marker("rotatedSecret")
    ssh_material = marker("sshKeyMaterial")
    tls_material = marker("tlsKeyMaterial")
    visible = marker("plainValue")  # the control: not secret, so it must show up
    planted = {"secret": secret, "rotated": rotated, "ssh": ssh_material, "tls": tls_material}
    ssh_key = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{ssh_material}\n-----END OPENSSH PRIVATE KEY-----\n"
    tls_key = f"-----BEGIN PRIVATE KEY-----\n{tls_material}\n-----END PRIVATE KEY-----\n"
    cert = "-----BEGIN CERTIFICATE-----\nMIIBfakecert\n-----END CERTIFICATE-----\n"

    ssh_server = await api.create_server(
        dockerHost="ssh://deploy@10.0.0.9:2222", sshPrivateKey=ssh_key,
        sshKnownHosts="[10.0.0.9]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlantedHostKey\n")
    tls_server = await api.create_server(
        dockerHost="tcp://10.0.0.8:2376", tlsCaCert=cert, tlsClientCert=cert, tlsClientKey=tls_key)
    project = await api.create_project()
    env = [{"key": "DB_PASSWORD", "value": secret, "secret": True}, {"key": "MODE", "value": visible}]
    image = await api.create_service(ssh_server, project, env=env)
    compose = await api.create_service(
        tls_server, project, {"type": "COMPOSE", "composeContent":
                              "services:\n  db:\n    image: postgres:16\n"
                              "    environment:\n      POSTGRES_PASSWORD: ${DB_PASSWORD}\n"}, env=env)

    # Refused inputs must not echo the secret either.
    for bad in ({"key": "1BAD", "value": secret, "secret": True},
                {"key": "OK", "value": secret + "\x00", "secret": True}):
        refused = await api.mutate("updateService", {"serviceId": image["id"], "env": [bad]}, "service { id }")
        assert [e["code"] for e in refused["errors"]] == ["INVALID_INPUT"]
    refused = await api.mutate("createServer", {"name": "bad-ssh", "dockerHost": "ssh://a@10.0.0.7",
                                                "sshPrivateKey": ssh_material, "sshKnownHosts": "x y z"},
                               "server { id }")
    assert [e["field"] for e in refused["errors"]] == [["input", "sshPrivateKey"]]

    # Deployments that carry it: started, succeeded, rotated, rolled back, canceled.
    first = await api.start(image, idempotencyKey="planted-1")
    await succeed(pk(first["id"]), imageDigest="registry.example.test/team/app@sha256:" + "1" * 64)
    await api.ok("updateService", {"serviceId": image["id"], "env": [
        {"key": "DB_PASSWORD", "value": rotated, "secret": True}, {"key": "MODE", "value": visible}]},
        f"service {{ {SERVICE_FIELDS} }}")
    second = await api.start(image, imageTag="v2")
    await succeed(pk(second["id"]), imageDigest="registry.example.test/team/app@sha256:" + "2" * 64)
    rollback = (await api.ok("rollbackDeployment", {"serviceId": image["id"]},
                             f"deployment {{ {DEPLOYMENT_FIELDS} }}"))["deployment"]
    stack = await api.start(compose, reason="with a secret in the environment")
    deployments = [first, second, rollback, stack]
    for queued in (rollback, stack):
        await api.ok("cancelDeployment", {"deploymentId": queued["id"]}, f"deployment {{ {DEPLOYMENT_FIELDS} }}")

    # Read everything back, every way the API offers.
    await api.query(f"{{ servers {{ {SERVER_FIELDS} }} projects {{ id name services {{ {SERVICE_FIELDS} }} }} }}")
    await api.query(f"{{ deployments(first: 100) {{ nodes {{ {DEPLOYMENT_FIELDS} }} }} }}")
    for deployment in deployments:
        await api.deployment(deployment["id"])
        await api.query(f'query N($id: ID!) {{ node(id: $id) {{ ... on Deployment {{ {DEPLOYMENT_FIELDS} }} }} }}',
                        {"id": deployment["id"]})
    for service in (image, compose):
        await api.query(f'query S($id: ID!) {{ service(id: $id) {{ {SERVICE_FIELDS} '
                        f'deployments {{ nodes {{ {DEPLOYMENT_FIELDS} }} }} latestDeployment {{ artifact }} }} }}',
                        {"id": service["id"]})
    for server in (ssh_server, tls_server):
        await api.query(f'query N($id: ID!) {{ node(id: $id) {{ ... on Server {{ {SERVER_FIELDS} }} }} }}',
                        {"id": server["id"]})
    downloads = []
    for deployment in deployments:
        response = api.http.get(f"{api.server.url}/api/v1/deployments/{deployment['id']}/artifact",
                                headers={"Authorization": f"Bearer {await api.token()}"})
        assert response.status_code == 200
        downloads.append(response.text)
    event_frames: list[str] = []
    for concluded in (rollback, stack):
        async with RawSocket(api.server.live.ws_url, TRANSPORT_WS) as socket:
            assert (await socket.init(await api.token()) or {}).get("type") == "connection_ack"
            await socket.subscribe("1", EVENTS, {"id": concluded["id"]})
            events = await socket.collect("1", Collector(), timeout=20)
        assert events.completed, (events.errors, events.closed)
        assert events.items and events.items[-1]["type"] == "CONCLUDED"
        event_frames.extend(socket.frames)
    stored_events = [json.dumps([e.payload, e.step]) for e in await DeploymentEvent.filter(
        deployment_id__in=[pk(d["id"]) for d in deployments])]
    log = api.server_log()
    dump = api.dump()

    places = {
        "API responses": "\n".join(api.transcript),
        "artifact downloads": "\n".join(downloads),
        "event subscriptions": "\n".join(event_frames),
        "stored events": "\n".join(stored_events),
        "server log": log,
    }
    for name, value in planted.items():
        for place, text in places.items():
            assert value not in text, f"{name} secret found in {place}"
        assert value.encode() not in dump, f"{name} secret found in the database dump"
    # The control value is found where it belongs, so the searches above can find things.
    assert visible in places["API responses"] and visible in places["artifact downloads"]
    assert visible in places["event subscriptions"] and visible.encode() in dump
    assert "***" in places["artifact downloads"]

    # The secrets are stored, as ciphertext the server's key opens.
    image_row = await ServiceRow.get(id=pk(image["id"]))
    assert decrypt(image_row.env[0]["value_enc"]) == rotated
    assert decrypt_json((await DeploymentRow.get(id=pk(first["id"]))).frozen_secrets_enc or "") == {
        "DB_PASSWORD": secret}
    assert decrypt_json((await DeploymentRow.get(id=pk(rollback["id"]))).frozen_secrets_enc or "") == {
        "DB_PASSWORD": secret}  # the rollback replays the first deployment's secret
    assert decrypt((await ServerRow.get(id=pk(ssh_server["id"]))).ssh_private_key_enc or "") == ssh_key
    assert decrypt((await ServerRow.get(id=pk(tls_server["id"]))).tls_client_key_enc or "") == tls_key
