"""The Starlette application: GraphQL at /graphql, MCP at /mcp, the dashboard at /, health endpoints,
artifact download."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from tortoise import connections

from berth.crypto import get_keyring
from berth.db import apply_migrations, close_db, open_db
from berth.domain.bootstrap import ensure_installation, ensure_local_server
from berth.settings import Settings, get_settings

log = logging.getLogger("berth.app")

# Background services (runner, observer, notifier) the lifespan starts and stops:
# each is an async context manager factory taking the settings.
BackgroundService = Callable[[Settings], contextlib.AbstractAsyncContextManager[Any]]


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    checks: dict[str, str] = {}
    ready = True
    try:
        await asyncio.wait_for(connections.get("default").execute_query("SELECT 1"), timeout=5)
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready; the reason is logged, not shown
        log.warning("readiness: database check failed: %s", type(exc).__name__)
        checks["database"] = "unreachable"
        ready = False
    for name, probe in getattr(request.app.state, "readiness_probes", {}).items():
        ok = bool(probe())
        checks[name] = "ok" if ok else "stale"
        ready = ready and ok
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
    )


def create_app(
    settings: Settings | None = None,
    *,
    background: list[BackgroundService] | None = None,
    migrate: bool = True,
) -> Starlette:
    settings = settings or get_settings()
    from berth.graphql_app import build_graphql_app  # the schema is large: import lazily
    from berth.graphql_executor import InProcessExecutors
    from berth.graphql_http import GraphQLOverHTTP
    from berth.http.artifact import artifact_endpoint
    from berth.http.dashboard import ASSET_ROUTE as DASHBOARD_ASSET_ROUTE
    from berth.http.dashboard import CONFIG_ROUTE as DASHBOARD_CONFIG_ROUTE
    from berth.http.dashboard import dashboard_asset, dashboard_config, dashboard_page
    from berth.http.graphiql import ASSET_ROUTE, graphiql_asset
    from berth.http.headers import ApiResponseHeaders
    from berth.http.mcp import McpEndpoint
    from berth.http.metrics import HttpMetrics, metrics_endpoint
    from berth.http.webhooks import webhook_endpoint

    graphql_app = build_graphql_app(settings)
    # MCP tools run their GraphQL operations in-process on the same schema (docs/mcp.md).
    mcp_endpoint = McpEndpoint(settings, InProcessExecutors(graphql_app.view.berth_schema))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.is_sqlite:
            settings.ensure_data_dir()
        # Generate (or read) the data key now, not at the first secret: a bad key file
        # should stop the start, not a request.
        get_keyring(settings)
        if migrate:
            applied = await apply_migrations(settings.database_url)
            if applied:
                log.info("applied migrations: %s", ", ".join(applied))
        await open_db(settings)
        await ensure_local_server(settings.docker_host)
        await ensure_installation()
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(mcp_endpoint.lifespan())
            for service in background or []:
                await stack.enter_async_context(service(settings))
            yield
        await close_db()

    routes = [
        Route("/", dashboard_page, methods=["GET", "HEAD"]),
        Route(DASHBOARD_ASSET_ROUTE, dashboard_asset, methods=["GET", "HEAD"]),
        Route(DASHBOARD_CONFIG_ROUTE, dashboard_config, methods=["GET"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint),
        # Methods are checked by the wrapper: a coded 405 with `Allow`, not plain text.
        Route("/graphql", GraphQLOverHTTP(graphql_app)),
        WebSocketRoute("/graphql", graphql_app),
        Route("/mcp", mcp_endpoint),  # methods are checked by the endpoint: a coded 405
        Route("/api/v1/deployments/{deployment_id}/artifact", artifact_endpoint),
        Route("/hooks/{provider}/{hook_id}", webhook_endpoint, methods=["POST"]),
    ]
    if not settings.production:  # GraphiQL is off in production, and so are its files
        routes.append(Route(ASSET_ROUTE, graphiql_asset, methods=["GET", "HEAD"]))
    app = Starlette(routes=routes, middleware=[Middleware(HttpMetrics), Middleware(ApiResponseHeaders)], lifespan=lifespan)
    app.state.settings = settings
    app.state.readiness_probes = {}
    return app

