from __future__ import annotations

import strawberry

from berth.auth.api_tokens import create_api_token
from berth.auth.errors import TokenGrantError
from berth.domain.errors import UserFacingError
from berth.resolvers.common import decode, principal_of, user_errors
from berth.schema.types.common import UserError, UserErrorCode
from berth.schema.types.identity import ApiToken
from berth.schema.types.inputs import CreateApiTokenInput, CreateApiTokenPayload


async def resolve(info: strawberry.Info, input: CreateApiTokenInput) -> CreateApiTokenPayload:
    principal = principal_of(info)
    try:
        project_ids = [
            decode(pid, "Project", ["input", "projectIds", str(index)])
            for index, pid in enumerate(input.project_ids or [])
        ]
        row, secret = await create_api_token(
            name=input.name,
            role=input.role,
            scopes=input.scopes,
            project_ids=project_ids,
            expires_in_days=input.expires_in_days,
            created_by=principal.subject,
            creator=principal,
        )
    except TokenGrantError as error:
        return CreateApiTokenPayload(
            errors=[
                UserError(code=UserErrorCode(error.code), message=error.message, field=["input", error.field])
            ]
        )
    except UserFacingError as error:
        return CreateApiTokenPayload(errors=user_errors(error))
    return CreateApiTokenPayload(api_token=ApiToken.of(row), token=secret, errors=[])
