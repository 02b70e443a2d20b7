"""`/mcp`: the MCP server over the streamable HTTP transport, on `berth serve`.

Every request authenticates by its own bearer credential, as `/graphql` does: none, or
one that is bad, is a 401 with `WWW-Authenticate` (an MCP client has nothing to do
anonymously). The transport is stateless — no MCP session outlives a request — so the
principal of each request is the only authority its tools run with; the executor that
the app passes in (berth.graphql_executor) runs their operations in-process with it.
Only POST is served: nothing is pushed, so there is no GET stream and no session to delete.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from mcp.server import ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from berth.auth.authenticate import authenticate_authorization
from berth.auth.errors import WWW_AUTHENTICATE, InvalidCredential
from berth.auth.principal import Principal
from berth.http.origins import allowed_origins, origin_allowed
from berth.http.url_credentials import REFUSAL, credential_in_query
from berth.mcp.executor import Executor
from berth.mcp.server import build_server
from berth.settings import Settings

PRINCIPAL_KEY = "berth.mcp.principal"
# As for /graphql: a tool call's request is small.
MAX_BODY_BYTES = 256 * 1024

ExecutorFor = Callable[[Principal, Request], Executor]


async def _send_json(send: Send, status: int, message: str, code: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()
    header_list = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    header_list += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": header_list})
    await send({"type": "http.response.body", "body": body})


class McpEndpoint:
    """ASGI app of `/mcp`; enter `lifespan()` in the application's lifespan."""

    def __init__(self, settings: Settings, executor_for: ExecutorFor) -> None:
        self.executor_for = executor_for
        self.allowed_origins = allowed_origins(settings.allowed_origins, settings.public_url)
        self.manager = StreamableHTTPSessionManager(
            app=build_server(self._executor_of), stateless=True, json_response=True,
            max_request_body_size=MAX_BODY_BYTES,
        )

    def _executor_of(self, ctx: ServerRequestContext[Any, Any]) -> Executor:
        request = ctx.request
        assert isinstance(request, Request), "tools run only for an authenticated HTTP request"
        return self.executor_for(request.scope["state"][PRINCIPAL_KEY], request)

    def lifespan(self) -> AbstractAsyncContextManager[None]:
        return self.manager.run()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        if request.method != "POST":
            # Nothing is ever pushed (stateless, JSON responses): no GET stream to hold open, no
            # session to DELETE. The spec lets a server answer 405 to both.
            return await _send_json(send, 405, "MCP is served over POST.", "METHOD_NOT_ALLOWED",
                                    {"allow": "POST"})
        # A browser page may not drive the tools with a credential it holds (as for WebSockets).
        if not origin_allowed(request.headers.get("origin"), self.allowed_origins):
            return await _send_json(send, 403, "Origin not allowed.", "FORBIDDEN")
        if credential_in_query(scope.get("query_string", b"")):
            return await _send_json(send, 400, REFUSAL, "BAD_REQUEST")
        try:
            client = request.client
            principal = await authenticate_authorization(
                request.headers.get("authorization"), client.host if client else None, "mcp"
            )
        except InvalidCredential as error:
            return await _send_json(send, 401, error.message, "UNAUTHENTICATED",
                                    {"www-authenticate": WWW_AUTHENTICATE})
        if principal is None:
            return await _send_json(send, 401, "Authentication required: send a bearer credential.",
                                    "UNAUTHENTICATED", {"www-authenticate": 'Bearer realm="berth"'})
        scope.setdefault("state", {})[PRINCIPAL_KEY] = principal
        await self.manager.handle_request(scope, receive, send)
