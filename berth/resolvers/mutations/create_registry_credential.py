from __future__ import annotations

import strawberry

from berth.domain.registry_credentials import create_registry_credential
from berth.domain.specs import RegistryCredentialSpec
from berth.resolvers.common import decode, principal_of, run_mutation
from berth.schema.types.registry import (
    CreateRegistryCredentialInput,
    RegistryCredential,
    RegistryCredentialPayload,
)


async def resolve(info: strawberry.Info, input: CreateRegistryCredentialInput) -> RegistryCredentialPayload:
    async def action() -> RegistryCredential:
        spec = RegistryCredentialSpec(
            project_id=decode(input.project_id, "Project", ["input", "projectId"]),
            registry=input.registry,
            username=input.username,
            password=input.password,
        )
        return RegistryCredential.of(await create_registry_credential(principal_of(info), spec))

    return await run_mutation(RegistryCredentialPayload, action, "registry_credential")
