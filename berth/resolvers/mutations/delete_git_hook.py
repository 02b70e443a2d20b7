from __future__ import annotations

import strawberry

from berth.domain.git_hooks import delete_git_hook
from berth.resolvers.common import decode, principal_of, run_mutation
from berth.schema.types.git import DeleteGitHookPayload, GitHook


async def resolve(info: strawberry.Info, id: strawberry.ID) -> DeleteGitHookPayload:
    async def action() -> GitHook:
        return GitHook.of(await delete_git_hook(principal_of(info), decode(id, "GitHook", ["id"])))

    return await run_mutation(DeleteGitHookPayload, action, "git_hook")
