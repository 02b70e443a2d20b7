"""`GET /metrics` in Prometheus' text format, and the middleware that times HTTP requests.

The endpoint answers this process's counters (`berth.metrics`) plus gauges read from the
database at scrape time (`berth.domain.gauges`). With `BERTH_METRICS_TOKEN` set it wants
`Authorization: Bearer <that token>` (Prometheus' `authorization` setting); without, it is
open like `/healthz` — it names servers and counts, never deployments' contents.
"""

from __future__ import annotations

import hmac
import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from berth.domain.audit_refusals import record_refusal
from berth.domain.gauges import read_gauges
from berth.metrics import HTTP_REQUESTS, HTTP_SECONDS, REGISTRY
from berth.models.lifecycle import now

# Set by the GraphQL view once it knows the operation (query, mutation); "none" elsewhere.
OPERATION_KEY = "berth.graphql_operation"
BEARER = "bearer "


def _authorized(request: Request, token: str | None) -> bool:
    if not token:
        return True
    given = request.headers.get("authorization", "")
    if not given.lower().startswith(BEARER):
        return False
    return hmac.compare_digest(given[len(BEARER):].strip().encode(), token.encode())


async def _database_registry() -> CollectorRegistry:
    gauges = await read_gauges(now())
    registry = CollectorRegistry(auto_describe=True)
    deployments = Gauge("berth_deployments", "Deployments in the database, by status, conclusion and source.",
                        ["status", "conclusion", "source"], registry=registry)
    for row in gauges.deployments:
        deployments.labels(row.status, row.conclusion or "", row.source).set(row.count)
    queued = Gauge("berth_queue_depth", "Deployments waiting in each server's queue.", ["server"], registry=registry)
    running = Gauge("berth_running_deployments", "Deployments running on each server.", ["server"],
                    registry=registry)
    awaiting = Gauge("berth_awaiting_approval", "Deployments on each server waiting for their approvals.",
                     ["server"], registry=registry)
    for load in gauges.servers:
        queued.labels(load.server).set(load.queued)
        running.labels(load.server).set(load.running)
        awaiting.labels(load.server).set(load.awaiting_approval)
    leases = Gauge("berth_active_leases", "Runner leases held on active deployments.", registry=registry)
    leases.set(gauges.active_leases)
    return registry


async def metrics_endpoint(request: Request) -> Response:
    settings = request.app.state.settings
    if not _authorized(request, settings.metrics_token):
        if request.headers.get("authorization") is not None:  # a credential refused, not a missing one
            await record_refusal("metrics token is not valid", request.client.host if request.client else None,
                                 "http")
        return JSONResponse({"error": "send the metrics token as a bearer credential"}, 401,
                            headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    body = generate_latest(REGISTRY) + generate_latest(await _database_registry())
    return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST})


class HttpMetrics:
    """Counts and times every HTTP request by route template (never the raw path: ids would
    make a series per deployment), GraphQL operation type and status code."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            operation = str(scope.get("state", {}).get(OPERATION_KEY, "none"))
            HTTP_REQUESTS.labels(path, operation, str(status)).inc()
            HTTP_SECONDS.labels(path, operation).observe(time.perf_counter() - started)
