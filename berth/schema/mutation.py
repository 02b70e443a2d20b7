"""The `Mutation` root: each field delegates to its own resolver module."""

from __future__ import annotations

import strawberry

from berth.resolvers.mutations import (
    approve_deployment,
    cancel_deployment,
    close_preview,
    create_api_token,
    create_git_hook,
    create_notification_channel,
    create_project,
    create_registry_credential,
    create_server,
    create_service,
    delete_git_hook,
    delete_notification_channel,
    delete_registry_credential,
    delete_service,
    redeliver_webhook,
    reject_deployment,
    revoke_api_token,
    rollback_deployment,
    start_deployment,
    test_notification_channel,
    update_environment,
    update_service,
)
from berth.schema.directives import requires
from berth.schema.types import approvals as a
from berth.schema.types import git as g
from berth.schema.types import inputs as i
from berth.schema.types import notifications as n
from berth.schema.types import registry as r


@strawberry.type(name="Mutation")
class Mutation:
    @strawberry.mutation(directives=requires("deploy:start"))
    async def start_deployment(
        self, info: strawberry.Info, input: i.StartDeploymentInput
    ) -> i.StartDeploymentPayload | None:
        return await start_deployment.resolve(info, input)

    @strawberry.mutation(directives=requires("deploy:cancel"))
    async def cancel_deployment(
        self, info: strawberry.Info, input: i.CancelDeploymentInput
    ) -> i.CancelDeploymentPayload | None:
        return await cancel_deployment.resolve(info, input)

    @strawberry.mutation(directives=requires("deploy:rollback"))
    async def rollback_deployment(
        self, info: strawberry.Info, input: i.RollbackDeploymentInput
    ) -> i.RollbackDeploymentPayload | None:
        return await rollback_deployment.resolve(info, input)

    @strawberry.mutation(
        directives=requires("deploy:approve"),
        description="Approve a deployment waiting in a protected environment (not one you started); "
        "it runs once enough others have approved.",
    )
    async def approve_deployment(
        self, info: strawberry.Info, input: a.DecideDeploymentInput
    ) -> a.DecideDeploymentPayload | None:
        return await approve_deployment.resolve(info, input)

    @strawberry.mutation(
        directives=requires("deploy:approve"),
        description="Reject a deployment waiting for approval (comment required): it concludes FAILED/CANCELED.",
    )
    async def reject_deployment(
        self, info: strawberry.Info, input: a.DecideDeploymentInput
    ) -> a.DecideDeploymentPayload | None:
        return await reject_deployment.resolve(info, input)

    @strawberry.mutation(directives=requires("server:write"))
    async def create_server(
        self, info: strawberry.Info, input: i.CreateServerInput
    ) -> i.ServerPayload | None:
        return await create_server.resolve(info, input)

    @strawberry.mutation(directives=requires("service:write"))
    async def create_project(
        self, info: strawberry.Info, input: i.CreateProjectInput
    ) -> i.ProjectPayload | None:
        return await create_project.resolve(info, input)

    @strawberry.mutation(directives=requires("service:write"))
    async def create_service(
        self, info: strawberry.Info, input: i.CreateServiceInput
    ) -> i.ServicePayload | None:
        return await create_service.resolve(info, input)

    @strawberry.mutation(directives=requires("service:write"))
    async def update_service(
        self, info: strawberry.Info, input: i.UpdateServiceInput
    ) -> i.ServicePayload | None:
        return await update_service.resolve(info, input)

    @strawberry.mutation(
        directives=requires("service:write"),
        description="Change an environment: requiredApprovals protects it (0 to 10; applies to deployments "
        "queued from then on).",
    )
    async def update_environment(
        self, info: strawberry.Info, input: a.UpdateEnvironmentInput
    ) -> a.EnvironmentPayload | None:
        return await update_environment.resolve(info, input)

    @strawberry.mutation(
        directives=requires("service:write"),
        description="Stop and remove what the service runs on its server (the runner does it shortly after) "
        "and keep its deployment records, read-only. Refused (CONFLICT) while a deployment of it is queued "
        "or running.",
    )
    async def delete_service(
        self, info: strawberry.Info, input: i.DeleteServiceInput
    ) -> i.ServicePayload | None:
        return await delete_service.resolve(info, input)

    @strawberry.mutation(directives=requires("tokens:manage"))
    async def create_api_token(
        self, info: strawberry.Info, input: i.CreateApiTokenInput
    ) -> i.CreateApiTokenPayload | None:
        return await create_api_token.resolve(info, input)

    @strawberry.mutation(directives=requires("tokens:manage"))
    async def revoke_api_token(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> i.RevokeApiTokenPayload | None:
        return await revoke_api_token.resolve(info, id)

    @strawberry.mutation(directives=requires("service:write"))
    async def create_git_hook(
        self, info: strawberry.Info, input: g.CreateGitHookInput
    ) -> g.CreateGitHookPayload | None:
        return await create_git_hook.resolve(info, input)

    @strawberry.mutation(directives=requires("service:write"))
    async def delete_git_hook(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> g.DeleteGitHookPayload | None:
        return await delete_git_hook.resolve(info, id)

    @strawberry.mutation(directives=requires("service:write"))
    async def create_registry_credential(
        self, info: strawberry.Info, input: r.CreateRegistryCredentialInput
    ) -> r.RegistryCredentialPayload | None:
        return await create_registry_credential.resolve(info, input)

    @strawberry.mutation(directives=requires("service:write"))
    async def delete_registry_credential(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> r.RegistryCredentialPayload | None:
        return await delete_registry_credential.resolve(info, id)

    @strawberry.mutation(
        directives=requires("deploy:start"),
        description="Process a stored delivery again (e.g. after fixing the branch); "
        "a new delivery row records the result.",
    )
    async def redeliver_webhook(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> g.RedeliverWebhookPayload | None:
        return await redeliver_webhook.resolve(info, id)

    @strawberry.mutation(
        directives=requires("deploy:cancel"),
        description="Tear a preview down now, as a closed pull request would.",
    )
    async def close_preview(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> g.ClosePreviewPayload | None:
        return await close_preview.resolve(info, id)
    @strawberry.mutation(directives=requires("service:write"))
    async def create_notification_channel(
        self, info: strawberry.Info, input: n.CreateNotificationChannelInput
    ) -> n.NotificationChannelPayload | None:
        return await create_notification_channel.resolve(info, input)

    @strawberry.mutation(directives=requires("service:write"))
    async def delete_notification_channel(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> n.NotificationChannelPayload | None:
        return await delete_notification_channel.resolve(info, id)

    @strawberry.mutation(
        directives=requires("service:write"), description="Send a test event now; its delivery shows in deliveries."
    )
    async def test_notification_channel(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> n.NotificationChannelPayload | None:
        return await test_notification_channel.resolve(info, id)
