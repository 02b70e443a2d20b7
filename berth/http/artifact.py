"""`GET /api/v1/deployments/{id}/artifact`: the artifact JSON as a download (`deploy:read`)."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from berth.auth.authenticate import authenticate_authorization
from berth.auth.errors import WWW_AUTHENTICATE, InvalidCredential
from berth.domain.queries import get_visible
from berth.models import Deployment
from berth.resolvers.artifact import artifact_of
from berth.schema.ids import from_global_id
from berth.schema.loaders import Loaders

REQUIRED = "deploy:read"


def _error(status: int, message: str, code: str, **headers: str) -> Response:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, status, headers=headers
    )


async def artifact_endpoint(request: Request) -> Response:
    try:
        principal = await authenticate_authorization(request.headers.get("authorization"))
    except InvalidCredential as error:
        return _error(401, error.message, "UNAUTHENTICATED", **{"WWW-Authenticate": WWW_AUTHENTICATE})
    if principal is None:
        return _error(
            401, "Authentication required.", "UNAUTHENTICATED", **{"WWW-Authenticate": 'Bearer realm="berth"'}
        )
    if not principal.has(REQUIRED):
        return _error(403, f"Missing scope(s): {REQUIRED}.", "FORBIDDEN")
    raw_id = request.path_params["deployment_id"]
    decoded = from_global_id(raw_id)
    pk = decoded[1] if decoded and decoded[0] == "Deployment" else (int(raw_id) if raw_id.isdigit() else None)
    row = await get_visible(principal, Deployment, pk) if pk is not None else None
    if row is None:
        return _error(404, "No such deployment.", "NOT_FOUND")
    document = await artifact_of(row, Loaders())
    filename = f"berth-deployment-{row.pk}.json"
    return Response(
        json.dumps(document, indent=2, sort_keys=True),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
