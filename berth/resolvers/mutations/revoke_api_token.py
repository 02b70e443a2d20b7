from __future__ import annotations

import strawberry

from berth.auth.api_tokens import revoke_managed_token
from berth.resolvers.common import principal_of
from berth.schema.ids import pk_of
from berth.schema.types.common import UserError, UserErrorCode
from berth.schema.types.identity import ApiToken
from berth.schema.types.inputs import RevokeApiTokenPayload


async def resolve(info: strawberry.Info, id: strawberry.ID) -> RevokeApiTokenPayload:
    pk = pk_of(id, "ApiToken")
    # Only a token the caller manages (its role at or below the caller's, within its projects);
    # any other is NOT_FOUND, as another project's objects are in mutations (CONTRACT §2).
    row = await revoke_managed_token(principal_of(info), pk) if pk is not None else None
    if row is None:
        return RevokeApiTokenPayload(
            errors=[
                UserError(code=UserErrorCode.NOT_FOUND, message=f"No API token with id {id!r}.", field=["id"])
            ]
        )
    return RevokeApiTokenPayload(api_token=ApiToken.of(row), errors=[])
