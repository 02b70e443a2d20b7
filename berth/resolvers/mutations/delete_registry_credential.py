from __future__ import annotations

import strawberry

from berth.domain.registry_credentials import delete_registry_credential
from berth.resolvers.common import decode, principal_of, run_mutation
from berth.schema.types.registry import RegistryCredential, RegistryCredentialPayload


async def resolve(info: strawberry.Info, id: strawberry.ID) -> RegistryCredentialPayload:
    async def action() -> RegistryCredential:
        credential_id = decode(id, "RegistryCredential", ["id"])
        return RegistryCredential.of(await delete_registry_credential(principal_of(info), credential_id))

    return await run_mutation(RegistryCredentialPayload, action, "registry_credential")
