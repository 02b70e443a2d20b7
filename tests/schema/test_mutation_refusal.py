"""A mutation refused for a missing scope has no side effect (CONTRACT §2).

Every mutation of the schema gets an input that would succeed; a credential holding
every scope but the mutation's own — and an anonymous caller — is refused, and every row
of every table is the same afterwards. The same input with the scope (the control) does
change the database, so the comparison can fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from berth.auth.scopes import SCOPE_NAMES
from berth.domain.secrets import encrypt
from berth.models import ApiToken, Deployment, Project, RegistryCredential, Server, Service
from berth.models.enums import Role
from tests.schema.conftest import Stack
from tests.schema.walk import Step, scope_map
from tests.schema.world import (
    World,
    gid,
    make_deployment,
    make_git_hook,
    make_notification_channel,
    make_ping_delivery,
    make_preview,
    make_project_service,
    mint,
    snapshot,
)
from tests.support.names import unique

ALL = frozenset(SCOPE_NAMES)
MUTATIONS = sorted(scope_map().object_type("Mutation").fields)

Inputs = Callable[[World], Awaitable[dict[str, Any]]]


async def start_input(world: World) -> dict[str, Any]:
    return {"input": {"serviceId": gid("Service", world.service_a)}}


async def cancel_input(world: World) -> dict[str, Any]:
    deployment = await make_deployment(await Service.get(id=world.service_a), state="LEASED")
    return {"input": {"deploymentId": gid("Deployment", deployment.id)}}


async def rollback_input(world: World) -> dict[str, Any]:
    return {"input": {"serviceId": gid("Service", world.service_a), "toDeploymentId": gid("Deployment", world.deployment_a1)}}


async def create_server_input(world: World) -> dict[str, Any]:
    return {"input": {"name": unique("srv"), "dockerHost": "tcp://127.0.0.1:9"}}


async def create_project_input(world: World) -> dict[str, Any]:
    return {"input": {"name": unique("proj"), "environments": ["production"]}}


async def create_service_input(world: World) -> dict[str, Any]:
    return {
        "input": {
            "projectId": gid("Project", world.project_a),
            "environment": "production",
            "name": unique("svc"),
            "serverId": gid("Server", world.server),
            "source": {"type": "IMAGE", "image": "nginx:alpine"},
        }
    }


async def update_service_input(world: World) -> dict[str, Any]:
    server = await Server.get(id=world.server)
    _project, _environment, service = await make_project_service(server)
    return {"input": {"serviceId": gid("Service", service.id), "source": {"type": "IMAGE", "image": "nginx:1.27"}}}


async def delete_service_input(world: World) -> dict[str, Any]:
    server = await Server.get(id=world.server)
    _project, _environment, service = await make_project_service(server)
    return {"input": {"serviceId": gid("Service", service.id)}}


async def create_token_input(world: World) -> dict[str, Any]:
    return {"input": {"name": unique("tok"), "role": "VIEWER"}}


async def revoke_token_input(world: World) -> dict[str, Any]:
    await mint(["deploy:read"], role=Role.VIEWER, name="to-revoke")
    row = await ApiToken.filter(name="to-revoke").order_by("-id").first()
    assert row is not None
    return {"id": gid("ApiToken", row.id)}


async def create_git_hook_input(world: World) -> dict[str, Any]:
    return {"input": {"serviceId": gid("Service", world.service_a), "provider": "GITEA", "repository": "acme/web"}}


async def delete_git_hook_input(world: World) -> dict[str, Any]:
    hook = await make_git_hook(await Service.get(id=world.service_a))
    return {"id": gid("GitHook", hook.id)}


async def redeliver_webhook_input(world: World) -> dict[str, Any]:
    # A stored ping of a hook of its own (the walk reads the seeded hook's ledger):
    # processing it again records a new delivery row.
    hook = await make_git_hook(await Service.get(id=world.service_a))
    delivery = await make_ping_delivery(hook)
    return {"id": gid("WebhookDelivery", delivery.id)}


async def create_registry_credential_input(world: World) -> dict[str, Any]:
    return {"input": {"projectId": gid("Project", world.project_a), "registry": f"{unique('reg')}.example.test",
                      "username": "walker", "password": "valid-registry-password"}}


async def delete_registry_credential_input(world: World) -> dict[str, Any]:
    credential = await RegistryCredential.create(
        project_id=world.project_a, registry=f"{unique('reg')}.example.test", username="walker",
        password_enc=encrypt("to-be-deleted"))
    return {"id": gid("RegistryCredential", credential.id)}


async def close_preview_input(world: World) -> dict[str, Any]:
    # A preview of its own (the walk reads the seeded one): closing it marks it CLOSED.
    preview = await make_preview(await Service.get(id=world.service_a))
    return {"id": gid("PreviewEnvironment", preview.id)}
async def create_channel_input(world: World) -> dict[str, Any]:
    return {"input": {"projectId": gid("Project", world.project_a), "name": unique("ch"), "kind": "SLACK",
                      "url": "https://hooks.example.test/services/T0/B0/x", "events": ["deployment.failed"]}}


async def own_channel_input(world: World) -> dict[str, Any]:
    # A channel of its own (the walk reads the seeded one); testing it writes a delivery.
    channel = await make_notification_channel(await Project.get(id=world.project_a))
    return {"id": gid("NotificationChannel", channel.id)}


async def update_environment_input(world: World) -> dict[str, Any]:
    server = await Server.get(id=world.server)
    _project, environment, _service = await make_project_service(server)
    return {"input": {"environmentId": gid("Environment", environment.id), "requiredApprovals": 2}}


async def decide_input(world: World) -> dict[str, Any]:
    # Waiting for approval, started by another principal than the token deciding it.
    server = await Server.get(id=world.server)
    _project, _environment, service = await make_project_service(server)
    deployment = await make_deployment(service, state="AWAITING_APPROVAL")
    return {"input": {"deploymentId": gid("Deployment", deployment.id), "comment": "checked"}}


VALID_INPUTS: dict[str, Inputs] = {
    "startDeployment": start_input,
    "cancelDeployment": cancel_input,
    "rollbackDeployment": rollback_input,
    "createServer": create_server_input,
    "createProject": create_project_input,
    "createService": create_service_input,
    "updateService": update_service_input,
    "deleteService": delete_service_input,
    "createApiToken": create_token_input,
    "revokeApiToken": revoke_token_input,
    "createGitHook": create_git_hook_input,
    "deleteGitHook": delete_git_hook_input,
    "redeliverWebhook": redeliver_webhook_input,
    "createRegistryCredential": create_registry_credential_input,
    "deleteRegistryCredential": delete_registry_credential_input,
    "closePreview": close_preview_input,
    "createNotificationChannel": create_channel_input,
    "deleteNotificationChannel": own_channel_input,
    "testNotificationChannel": own_channel_input,
    "updateEnvironment": update_environment_input,
    "approveDeployment": decide_input,
    "rejectDeployment": decide_input,
}


def document(mutation: str) -> str:
    m = scope_map()
    field = m.object_type("Mutation").fields[mutation]
    definitions = ", ".join(f"${name}: {arg.type}" for name, arg in field.args.items())
    arguments = ", ".join(f"{name}: ${name}" for name in field.args)
    return f"mutation({definitions}) {{ {mutation}({arguments}) {{ __typename errors {{ code message field }} }} }}"


@pytest.fixture(scope="module")
def world(stack: Stack) -> World:
    world = stack.seeded()

    async def succeeded_target() -> None:
        # rollbackDeployment's control needs a SUCCEEDED deployment to return to: a1 is one.
        assert (await Deployment.get(id=world.deployment_a1)).conclusion == "SUCCEEDED"

    stack.run(succeeded_target)
    return world


def test_every_mutation_has_an_input() -> None:
    assert set(VALID_INPUTS) == set(MUTATIONS)


@pytest.mark.parametrize("caller", ["missing-scope", "anonymous"])
@pytest.mark.parametrize("mutation", MUTATIONS)
async def test_refused_mutation_changes_nothing(mutation: str, caller: str, orm: Stack, world: World) -> None:
    required = scope_map().required(Step("Mutation", mutation))
    token = await mint(ALL - required) if caller == "missing-scope" else None
    variables = await VALID_INPUTS[mutation](world)
    before = await snapshot()

    client = orm.client(token)
    try:
        result = await asyncio.to_thread(client.execute, document(mutation), variables)
    finally:
        client.close()

    assert result.data == {mutation: None}
    assert len(result.errors) == 1, result.errors
    error = result.errors[0]
    assert error["path"] == [mutation]
    if caller == "anonymous":
        assert error["extensions"] == {"code": "UNAUTHENTICATED"}
    else:
        assert error["extensions"] == {
            "code": "FORBIDDEN",
            "requiredScopes": sorted(required),
            "missingScopes": sorted(required),
        }
    assert await snapshot() == before


@pytest.mark.parametrize("mutation", MUTATIONS)
async def test_control_the_same_mutation_with_its_scope_changes_the_database(
    mutation: str, orm: Stack, world: World
) -> None:
    token = await mint(ALL)
    variables = await VALID_INPUTS[mutation](world)
    before = await snapshot()

    client = orm.client(token)
    try:
        result = await asyncio.to_thread(client.execute, document(mutation), variables)
    finally:
        client.close()

    assert not result.errors, result.errors
    assert result.data[mutation]["errors"] == [], result.data
    assert await snapshot() != before
