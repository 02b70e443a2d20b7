from __future__ import annotations

import strawberry

from berth.auth.api_tokens import revoke_api_token
from berth.domain.queries import get_visible_api_token
from berth.resolvers.common import principal_of
from berth.schema.ids import pk_of
from berth.schema.types.common import UserError, UserErrorCode
from berth.schema.types.identity import ApiToken
from berth.schema.types.inputs import RevokeApiTokenPayload


async def resolve(info: strawberry.Info, id: strawberry.ID) -> RevokeApiTokenPayload:
    pk = pk_of(id, "ApiToken")
    # A caller limited to projects may revoke only the tokens it can see (CONTRACT §2:
    # another project's objects are NOT_FOUND in mutations).
    visible = await get_visible_api_token(principal_of(info), pk) if pk is not None else None
    row = await revoke_api_token(visible.id) if visible is not None else None
    if row is None:
        return RevokeApiTokenPayload(
            errors=[
                UserError(code=UserErrorCode.NOT_FOUND, message=f"No API token with id {id!r}.", field=["id"])
            ]
        )
    return RevokeApiTokenPayload(api_token=ApiToken.of(row), errors=[])
