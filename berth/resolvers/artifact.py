"""The artifact document, shared by the `artifact` field and the download endpoint."""

from __future__ import annotations

from typing import Any

from berth.auth.principal import Principal
from berth.domain.documents import Document, visible_document
from berth.domain.views import artifact
from berth.models import Deployment as DeploymentRow
from berth.schema.ids import to_global_id
from berth.schema.loaders import Loaders


async def artifact_of(row: DeploymentRow, loaders: Loaders, principal: Principal) -> dict[str, Any]:
    """The artifact as `principal` may see it (the same document for the field and the download)."""
    steps = await loaders.steps.load(row.pk)
    observation = await loaders.latest_observation.load(row.service_id)  # type: ignore[attr-defined]
    # The record as it is now, queue position included (the same value as `queuePosition`).
    position = await loaders.queue_position.load(row)
    document = artifact(row, steps, observation, encode_id=to_global_id, queue_position=position)
    return visible_document(principal, Document.ARTIFACT, document)  # type: ignore[no-any-return]
