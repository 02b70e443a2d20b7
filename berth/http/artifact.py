"""`GET /api/v1/deployments/{id}/artifact`: the artifact JSON as a download (`deploy:read`)."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from berth.auth.authenticate import authenticate_authorization
from berth.auth.errors import WWW_AUTHENTICATE, InvalidCredential
from berth.domain.artifact import load_artifact
from berth.domain.names import artifact_file_name
from berth.domain.queries import get_visible
from berth.ids import from_global_id
from berth.models import Deployment

REQUIRED = "deploy:read"
# Ids are BIGINT: 18 digits always fit (the same bound as global ids).
MAX_ID_DIGITS = 18


def _error(status: int, message: str, code: str, **headers: str) -> Response:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, status, headers=headers
    )


def _deployment_pk(raw_id: str) -> int | None:
    """The deployment's global id (or, for scripts, its number in the database); anything
    else, including a number too large to be an id, names no deployment."""
    decoded = from_global_id(raw_id)
    if decoded is not None:
        return decoded[1] if decoded[0] == "Deployment" else None
    if raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= MAX_ID_DIGITS:
        return int(raw_id)
    return None


async def artifact_endpoint(request: Request) -> Response:
    try:
        client = request.client
        principal = await authenticate_authorization(
            request.headers.get("authorization"), client.host if client else None
        )
    except InvalidCredential as error:
        return _error(401, error.message, "UNAUTHENTICATED", **{"WWW-Authenticate": WWW_AUTHENTICATE})
    if principal is None:
        return _error(
            401, "Authentication required.", "UNAUTHENTICATED", **{"WWW-Authenticate": 'Bearer realm="berth"'}
        )
    if not principal.has(REQUIRED):
        return _error(403, f"Missing scope(s): {REQUIRED}.", "FORBIDDEN")
    pk = _deployment_pk(request.path_params["deployment_id"])
    row = await get_visible(principal, Deployment, pk) if pk is not None else None
    if row is None:
        return _error(404, "No such deployment.", "NOT_FOUND")
    document = await load_artifact(row, principal)
    filename = artifact_file_name(document)
    return Response(
        json.dumps(document, indent=2, sort_keys=True),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
