"""The artifact document of one deployment, read whole (the download endpoint's path; the
GraphQL field builds the same document from the request's loaders)."""

from __future__ import annotations

from typing import Any

from berth.auth.principal import Principal
from berth.domain.documents import Document, visible_document
from berth.domain.queries import queue_position
from berth.domain.views import artifact
from berth.ids import to_global_id
from berth.models import Deployment, DeploymentStep, Observation


async def load_artifact(row: Deployment, principal: Principal) -> dict[str, Any]:
    """The artifact as `principal` may see it (the same document as the `artifact` field)."""
    steps = list(await DeploymentStep.filter(deployment_id=row.pk).order_by("position"))
    observation = (
        await Observation.filter(service_id=row.service_id)  # type: ignore[attr-defined]
        .order_by("-observed_at", "-id")
        .first()
    )
    # The record as it is now, queue position included (the same value as `queuePosition`).
    position = await queue_position(row)
    document = artifact(row, steps, observation, encode_id=to_global_id, queue_position=position)
    return visible_document(principal, Document.ARTIFACT, document)  # type: ignore[no-any-return]
