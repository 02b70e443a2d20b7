from __future__ import annotations

import strawberry

from berth.domain.errors import UserFacingError
from berth.domain.git_hooks import GitHookSpec, create_git_hook
from berth.resolvers.common import decode, principal_of, user_errors
from berth.schema.types.git import CreateGitHookInput, CreateGitHookPayload, GitHook


async def resolve(info: strawberry.Info, input: CreateGitHookInput) -> CreateGitHookPayload:
    try:
        spec = GitHookSpec(
            service_id=decode(input.service_id, "Service", ["input", "serviceId"]),
            provider=input.provider,
            repository=input.repository,
            branch=input.branch,
            previews=input.previews,
            allow_fork_previews=input.allow_fork_previews,
            status_api_url=input.status_api_url,
            status_token=input.status_token,
        )
        row, secret = await create_git_hook(principal_of(info), spec)
    except UserFacingError as error:
        return CreateGitHookPayload(errors=user_errors(error))
    return CreateGitHookPayload(git_hook=GitHook.of(row), secret=secret, errors=[])
