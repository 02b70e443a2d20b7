from __future__ import annotations

import strawberry

from berth.domain.previews import close_preview
from berth.resolvers.common import decode, principal_of, run_mutation
from berth.schema.types.git import ClosePreviewPayload, PreviewEnvironment


async def resolve(info: strawberry.Info, id: strawberry.ID) -> ClosePreviewPayload:
    async def action() -> PreviewEnvironment:
        return PreviewEnvironment.of(await close_preview(principal_of(info), decode(id, "PreviewEnvironment", ["id"])))

    return await run_mutation(ClosePreviewPayload, action, "preview")
