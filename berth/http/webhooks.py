"""`POST /hooks/{provider}/{hookId}`: where GitHub, GitLab and Gitea send their events.

No bearer token: the request proves itself with the hook's secret (berth.domain.webhooks
verifies it). The body is read with a bound and never buffered past it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from berth.domain import webhooks
from berth.domain.webhook_providers import PATH_NAMES
from berth.ids import to_global_id
from berth.metrics import WEBHOOK_DELIVERIES

MAX_ID_DIGITS = 18


def _not_found() -> Response:
    # The same answer for an unknown hook and another provider's: nothing to learn from it.
    return JSONResponse({"error": "no such hook"}, 404)


async def _bounded_body(request: Request) -> tuple[bytes, bool]:
    """(body, too large): stops reading once the limit is passed."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > webhooks.MAX_BODY_BYTES:
        return b"", True
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > webhooks.MAX_BODY_BYTES:
            return b"", True
        chunks.append(chunk)
    return b"".join(chunks), False


async def webhook_endpoint(request: Request) -> Response:
    provider = PATH_NAMES.get(request.path_params["provider"])
    raw_id = str(request.path_params["hook_id"])
    if provider is None or not (raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= MAX_ID_DIGITS):
        return _not_found()
    hook = await webhooks.find_hook(provider, int(raw_id))
    if hook is None:
        return _not_found()
    body, too_large = await _bounded_body(request)
    received = webhooks.Request(
        provider=provider,
        headers={name.lower(): value for name, value in request.headers.items()},
        body=body,
        content_type=request.headers.get("content-type"),
        too_large=too_large,
        remote_address=request.client.host if request.client else None,
    )
    result = await webhooks.receive(hook, received)
    WEBHOOK_DELIVERIES.labels(provider.value.lower(), result.outcome.value).inc()
    deployment = result.deployment_id
    return JSONResponse(
        {
            "delivery": to_global_id("WebhookDelivery", result.delivery.id),
            "outcome": result.outcome.value,
            "reason": result.delivery.reason,
            "deployment": to_global_id("Deployment", deployment) if deployment is not None else None,
        },
        result.status,
    )
