"""The GraphQL endpoint: Strawberry's ASGI view behind the authentication edge.

HTTP: a presented credential that is bad is an early 401 (CONTRACT §2); none runs
anonymously. WebSocket: the credential comes in `connection_init` (or the handshake
header); a bad one is refused (4403 / `connection_error`). Browser handshakes from
origins not configured are refused before the socket is accepted.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from berth.auth.authenticate import authenticate_authorization
from berth.auth.errors import WWW_AUTHENTICATE, InvalidCredential
from berth.schema import build_schema
from berth.schema.context import Context
from berth.settings import Settings

MAX_BODY_BYTES = 256 * 1024
PRINCIPAL_KEY = "berth.principal"


class BerthGraphQL(GraphQL):  # type: ignore[type-arg]
    def __init__(self, settings: Settings) -> None:
        schema = build_schema(production=settings.production)
        super().__init__(
            schema,
            graphql_ide=None if settings.production else "graphiql",
            allow_queries_via_get=True,
            keep_alive=True,
            keep_alive_interval=15,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
            connection_init_wait_timeout=timedelta(seconds=10),
            multipart_uploads_enabled=False,
        )
        self.type_scopes = schema.type_scopes

    async def get_context(self, request: Any, response: Any = None) -> Context:  # type: ignore[override]
        principal = request.scope.get("state", {}).get(PRINCIPAL_KEY)
        return Context(request=request, response=response, principal=principal, type_scopes=self.type_scopes)

    async def on_ws_connect(self, context: Context) -> Any:  # type: ignore[override]
        params = context.connection_params or {}
        credential = params.get("authorization") or params.get("Authorization")
        if credential is None:
            credential = context.request.headers.get("authorization")
        try:
            context.principal = await authenticate_authorization(credential)
        except InvalidCredential as error:
            raise ConnectionRejectionError({"message": error.message}) from None
        return await super().on_ws_connect(context)  # type: ignore[arg-type]


def _json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> list[Message]:
    raw = json.dumps(body).encode()
    header_list = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    header_list += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    return [
        {"type": "http.response.start", "status": status, "headers": header_list},
        {"type": "http.response.body", "body": raw},
    ]


def _error_body(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


class AuthenticatedGraphQL:
    """ASGI wrapper: limits, origin check and authentication in front of the view."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.view = BerthGraphQL(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            if not self._origin_allowed(scope):
                websocket = WebSocket(scope, receive, send)
                await websocket.close(code=4403, reason="Origin not allowed")
                return
            await self.view(scope, receive, send)
            return
        request = Request(scope, receive)
        body = b""
        if request.method == "POST":
            declared = request.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
                return await self._send(send, 413, _error_body("Request body too large.", "BAD_REQUEST"))
            chunks: list[bytes] = []
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    return await self._send(send, 413, _error_body("Request body too large.", "BAD_REQUEST"))
                chunks.append(chunk)
            body = b"".join(chunks)
        try:
            principal = await authenticate_authorization(request.headers.get("authorization"))
        except InvalidCredential as error:
            return await self._send(
                send,
                401,
                _error_body(error.message, "UNAUTHENTICATED"),
                {"www-authenticate": WWW_AUTHENTICATE},
            )
        scope.setdefault("state", {})[PRINCIPAL_KEY] = principal
        await self.view(scope, _replay(body) if request.method == "POST" else receive, send)

    @staticmethod
    async def _send(
        send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        for message in _json_response(status, body, headers):
            await send(message)

    def _origin_allowed(self, scope: Scope) -> bool:
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        origin = headers.get("origin")
        if origin is None:
            return True  # not a browser: browsers always send Origin on WebSocket handshakes
        if origin in self.settings.allowed_origins:
            return True
        return urlsplit(origin).netloc == headers.get("host")


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def build_graphql_app(settings: Settings) -> AuthenticatedGraphQL:
    return AuthenticatedGraphQL(settings)
