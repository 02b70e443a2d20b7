"""`deleteService` over the API: refused while a deployment is active, then the service is
read-only (no start, rollback or update) and its deployments stay readable."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from berth.models import Deployment, Server, Service
from tests.schema.conftest import Stack
from tests.schema.world import World, gid, make_deployment, make_project_service, mint

SERVICE_WRITER = ["service:read", "service:write", "deploy:read", "deploy:start", "deploy:rollback"]

DELETE = """
mutation($input: DeleteServiceInput!) {
  deleteService(input: $input) { service { id name deletedAt } errors { code message field } }
}
"""
START = """
mutation($id: ID!) { startDeployment(input: {serviceId: $id}) { deployment { id } errors { code message field } } }
"""
ROLLBACK = """
mutation($id: ID!, $to: ID) {
  rollbackDeployment(input: {serviceId: $id, toDeploymentId: $to}) { deployment { id } errors { code message field } }
}
"""
UPDATE = """
mutation($id: ID!) {
  updateService(input: {serviceId: $id, source: {type: IMAGE, image: "nginx:1.27"}}) {
    service { id } errors { code message field }
  }
}
"""
READ = """
query($id: ID!, $deployment: ID!) {
  service(id: $id) { id deletedAt deployments { totalCount } }
  deployment(id: $deployment) { id number conclusion service { id deletedAt } }
}
"""
SERVICES = "query($id: ID!) { node(id: $id) { ... on Project { services { id } all: services(includeDeleted: true) { id } } } }"


@pytest.fixture(scope="module")
def world(stack: Stack) -> World:
    return stack.seeded()


async def call(stack: Stack, token: str, document: str, variables: dict[str, Any]) -> dict[str, Any]:
    client = stack.client(token)
    try:
        result = await asyncio.to_thread(client.execute, document, variables)
    finally:
        client.close()
    assert not result.errors, result.errors
    return result.data  # type: ignore[no-any-return]


async def test_delete_service_refuses_while_active_then_leaves_it_read_only(orm: Stack, world: World) -> None:
    token = await mint(SERVICE_WRITER)
    project, environment, service = await make_project_service(await Server.get(id=world.server))
    label = f"{project.name}/{environment.name}/{service.name}"
    done = await make_deployment(service)
    active = await make_deployment(service, state="LEASED")
    service_id = gid("Service", service.id)

    refused = (await call(orm, token, DELETE, {"input": {"serviceId": service_id}}))["deleteService"]
    assert refused["service"] is None
    [error] = refused["errors"]
    assert (error["code"], error["field"]) == ("CONFLICT", ["input", "serviceId"])
    assert f"{label} #{active.number}" in error["message"] and "active deployment" in error["message"]
    assert (await Service.get(id=service.id)).deleted_at is None

    await Deployment.filter(id=active.id).update(status="FAILED", conclusion="FAILED")
    deleted = (await call(orm, token, DELETE, {"input": {"serviceId": service_id}}))["deleteService"]
    assert deleted["errors"] == [] and deleted["service"]["deletedAt"]
    again = (await call(orm, token, DELETE, {"input": {"serviceId": service_id}}))["deleteService"]
    assert again["errors"] == [] and again["service"]["deletedAt"] == deleted["service"]["deletedAt"]

    before = await Deployment.filter(service_id=service.id).count()
    for document, variables, root in (
        (START, {"id": service_id}, "startDeployment"),
        (ROLLBACK, {"id": service_id, "to": gid("Deployment", done.id)}, "rollbackDeployment"),
        (UPDATE, {"id": service_id}, "updateService"),
    ):
        payload = (await call(orm, token, document, variables))[root]
        [error] = payload["errors"]
        assert (error["code"], error["field"]) == ("CONFLICT", ["input", "serviceId"]), (root, error)
        assert f"service {label} was deleted" in error["message"], error
    assert await Deployment.filter(service_id=service.id).count() == before
    assert (await Service.get(id=service.id)).source == {"image": "nginx:alpine"}

    # The records stay readable, the service with them; the project lists it only when asked.
    read = await call(orm, token, READ, {"id": service_id, "deployment": gid("Deployment", done.id)})
    assert read["service"]["deletedAt"] == deleted["service"]["deletedAt"]
    assert read["service"]["deployments"]["totalCount"] == 2
    assert read["deployment"]["conclusion"] == "SUCCEEDED" and read["deployment"]["service"]["id"] == service_id
    listed = (await call(orm, token, SERVICES, {"id": gid("Project", project.id)}))["node"]
    assert listed["services"] == [] and listed["all"] == [{"id": service_id}]


async def test_delete_service_needs_a_visible_service(orm: Stack, world: World) -> None:
    limited = await mint(SERVICE_WRITER, project_ids=[world.project_b])
    payload = (await call(orm, limited, DELETE, {"input": {"serviceId": gid("Service", world.service_a)}}))
    [error] = payload["deleteService"]["errors"]
    assert (error["code"], error["field"]) == ("NOT_FOUND", ["input", "serviceId"])
    assert (await Service.get(id=world.service_a)).deleted_at is None
