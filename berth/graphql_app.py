"""The GraphQL endpoint: Strawberry's ASGI view behind the authentication edge.

HTTP: a presented credential that is bad is an early 401 (CONTRACT §2); none runs
anonymously. WebSocket: the credential comes in `connection_init` (or the handshake
header); a bad one is refused (4403 / `connection_error`). Browser handshakes from
origins not configured are refused before the socket is accepted. Operation limits
(cost, response size, time, message size) are in docs/limits.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import timedelta
from typing import Any, cast

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import StartMessage

from berth.auth.authenticate import authenticate_authorization
from berth.auth.errors import WWW_AUTHENTICATE, InvalidCredential
from berth.graphql_audience_members import AudienceMember, SharingHandler, shareable, still_valid
from berth.graphql_audiences import AudienceRegistry
from berth.graphql_http import GraphQLOverHTTPView, error_body
from berth.http.graphiql import graphiql_page
from berth.http.origins import allowed_origins, origin_allowed
from berth.http.url_credentials import REFUSAL, credential_in_query
from berth.http.websocket_messages import limit_message_size
from berth.schema import build_schema
from berth.schema.audit_trail import remote_address
from berth.schema.context import Context
from berth.schema.response_size import encode_capped
from berth.settings import DEFAULT_WS_INIT_TIMEOUT_SECONDS, Settings

MAX_BODY_BYTES = 256 * 1024
PRINCIPAL_KEY = "berth.principal"
# CONTRACT §5: operations in flight per WebSocket connection; one more gets an error message.
MAX_OPERATIONS_PER_CONNECTION = 100
KEEP_ALIVE_SECONDS = 15.0


class KeepAliveTransportWSHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    """`graphql-transport-ws` with server keep-alive: a `ping` right after `connection_ack`
    and then every interval (clients answer `pong`), as the legacy protocol sends `ka`."""

    keep_alive_task: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self.keep_alive_task is None:
            self.keep_alive_task = asyncio.create_task(self._keep_alive())

    async def _keep_alive(self) -> None:
        interval = getattr(self.view, "keep_alive_interval", None) or KEEP_ALIVE_SECONDS
        with contextlib.suppress(Exception):  # the socket closed: the handler shuts down
            while True:
                await self.send_message({"type": "ping"})
                await asyncio.sleep(interval)

    async def shutdown(self) -> None:
        if self.keep_alive_task is not None:
            self.keep_alive_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.keep_alive_task
        await super().shutdown()


async def _credential_still_valid(context: Context) -> bool:
    """A WebSocket outlives the check made at `connection_init`: before each new operation,
    the credential must still be unexpired and (for an API token) unrevoked."""
    return context.principal is None or await still_valid(context.principal)


class TransportWSHandler(SharingHandler, KeepAliveTransportWSHandler):
    """Keep-alive, the credential checked again before each operation (4403 when it no
    longer holds, as at `connection_init`), and shareable subscriptions run in audiences."""

    data_message_type = "next"

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.connection_acknowledged and not await _credential_still_valid(self.context):
            await self.websocket.close(code=4403, reason="Forbidden")
            return
        shared = shareable(self, message) if self.connection_acknowledged else None
        over_limit = (
            self.max_subscriptions_per_connection is not None
            and len(self.operations) >= self.max_subscriptions_per_connection
        )
        if shared is None or message["id"] in self.operations or over_limit:
            await super().handle_subscribe(message)  # Strawberry's own path (and refusals)
            return
        query, name, variables, key = shared
        # Registered as Strawberry registers its operations: `complete`, the limit and
        # shutdown treat a member like any other operation of the connection.
        operation: Operation[Any, Any] = Operation(self, message["id"], query, variables, name)
        member = AudienceMember(self, message["id"], query, name, variables, key)
        member.join()
        operation.task = asyncio.create_task(self._serve(member))
        operation.task.add_done_callback(self._task_done)
        self.operations[message["id"]] = operation

    async def _serve(self, member: AudienceMember) -> None:
        try:
            await member.serve()
        except Exception as error:
            await self.handle_task_exception(error)
            with contextlib.suppress(Exception):
                await self.send_end(member.operation_id)
            self.operations.pop(member.operation_id, None)

    def _live(self, operation_id: str) -> Operation[Any, Any] | None:
        operation = self.operations.get(operation_id)
        return None if operation is None or operation.completed else operation

    async def send_frame(self, operation_id: str, frame: str) -> bool:
        if self._live(operation_id) is None:
            return False
        await self.send_text(frame)
        return True

    async def send_result(self, operation_id: str, payload: dict[str, Any]) -> None:
        if (operation := self._live(operation_id)) is not None:
            await operation.send_operation_message(cast(Any, {"id": operation_id, "type": "next", "payload": payload}))

    async def send_refusal(self, operation_id: str, errors: list[Any]) -> None:
        if (operation := self._live(operation_id)) is not None:
            await operation.send_operation_message(cast(Any, {"id": operation_id, "type": "error", "payload": errors}))

    async def send_end(self, operation_id: str) -> None:
        if (operation := self._live(operation_id)) is not None:
            await operation.send_operation_message({"id": operation_id, "type": "complete"})


class LegacyWSHandler(SharingHandler, BaseGraphQLWSHandler[Any, Any]):
    """The credential checked again before each operation (`connection_error`, then close),
    the connection-init timeout of graphql-transport-ws (4408), which Strawberry's legacy
    handler does not have, and shareable subscriptions run in audiences."""

    data_message_type = "data"

    connection_init_received = False

    async def handle(self) -> None:
        timeout = asyncio.create_task(self._close_without_init())
        try:
            await super().handle()
        finally:
            timeout.cancel()

    async def _close_without_init(self) -> None:
        await asyncio.sleep(getattr(self.view, "ws_init_timeout_seconds", DEFAULT_WS_INIT_TIMEOUT_SECONDS))
        if not self.connection_init_received:
            with contextlib.suppress(Exception):  # already closed by the client
                await self.websocket.close(code=4408, reason="Connection initialisation timeout")

    async def handle_connection_init(self, message: Any) -> None:
        self.connection_init_received = True
        await super().handle_connection_init(message)

    async def handle_start(self, message: StartMessage) -> None:
        if self.connection_acknowledged and not await _credential_still_valid(self.context):
            await self.send_message(
                {"type": "connection_error", "payload": {"message": "The credential was revoked or has expired."}}
            )
            await self.websocket.close(code=1011, reason="")
            return
        shared = shareable(self, message) if self.connection_acknowledged else None
        over_limit = (
            self.max_subscriptions_per_connection is not None
            and len(self.tasks) >= self.max_subscriptions_per_connection
        )
        if shared is None or over_limit or not isinstance(message.get("id"), str):
            await super().handle_start(message)  # Strawberry's own path (and refusals)
            return
        operation_id = message["id"]
        if operation_id in self.tasks:
            await self.cleanup_operation(operation_id)  # as Strawberry does: the new one replaces it
        query, name, variables, key = shared
        member = AudienceMember(self, operation_id, query, name, variables, key)
        member.join()
        self.tasks[operation_id] = asyncio.create_task(self._serve(member))

    async def _serve(self, member: AudienceMember) -> None:
        task = asyncio.current_task()
        try:
            await member.serve()
        except asyncio.CancelledError:
            # `stop` (or the connection ending): Strawberry's legacy handler says complete.
            with contextlib.suppress(Exception):
                await self.send_message({"type": "complete", "id": member.operation_id})
        finally:
            if self.tasks.get(member.operation_id) is task:
                self.tasks.pop(member.operation_id, None)

    async def send_frame(self, operation_id: str, frame: str) -> bool:
        await self.send_text(frame)
        return True

    async def send_result(self, operation_id: str, payload: dict[str, Any]) -> None:
        await self.send_message(cast(Any, {"type": "data", "id": operation_id, "payload": payload}))

    async def send_refusal(self, operation_id: str, errors: list[Any]) -> None:
        await self.send_message(cast(Any, {"type": "error", "id": operation_id, "payload": errors[0] if errors else {}}))

    async def send_end(self, operation_id: str) -> None:
        await self.send_message({"type": "complete", "id": operation_id})


class BerthGraphQL(GraphQLOverHTTPView, GraphQL):  # type: ignore[type-arg,misc]
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(self, settings: Settings) -> None:
        schema = build_schema(
            production=settings.production,
            max_query_cost=settings.max_query_cost,
            query_timeout_seconds=settings.query_timeout_seconds,
        )
        self.max_response_bytes = settings.max_response_bytes
        self.ws_init_timeout_seconds = settings.ws_init_timeout_seconds
        super().__init__(
            schema,
            graphql_ide=None if settings.production else "graphiql",
            allow_queries_via_get=True,
            keep_alive=True,
            keep_alive_interval=KEEP_ALIVE_SECONDS,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
            connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout_seconds),
            max_subscriptions_per_connection=MAX_OPERATIONS_PER_CONNECTION,
            # Strawberry checks the origin again inside the view: the same configured list.
            allowed_origins=allowed_origins(settings.allowed_origins, settings.public_url),
            multipart_uploads_enabled=False,
        )
        self.type_scopes = schema.type_scopes
        # Shareable subscriptions of this view's sockets, executed once per audience.
        self.audiences = AudienceRegistry()
        # The schema itself, typed, for in-process execution (berth.graphql_executor).
        self.berth_schema = schema

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        # Berth's own page with same-origin assets instead of Strawberry's CDN one.
        return graphiql_page()

    def encode_json(self, data: object) -> str | bytes:
        """Every response and WebSocket message, within BERTH_MAX_RESPONSE_BYTES."""
        return encode_capped(data, self.max_response_bytes, super().encode_json)

    async def get_context(self, request: Any, response: Any = None) -> Context:  # type: ignore[override]
        principal = request.scope.get("state", {}).get(PRINCIPAL_KEY)
        return Context(request=request, response=response, principal=principal, type_scopes=self.type_scopes)

    async def on_ws_connect(self, context: Context) -> Any:  # type: ignore[override]
        params = context.connection_params or {}
        # Present but empty (or otherwise malformed) is a bad credential, not an absent one:
        # it must not fall back to the handshake header or to anonymous.
        credential = params.get("authorization", params.get("Authorization"))
        if credential is None:
            credential = context.request.headers.get("authorization")
        try:
            context.principal = await authenticate_authorization(
                credential, remote_address(context.request), transport="websocket"
            )
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


_error_body = error_body


class AuthenticatedGraphQL:
    """ASGI wrapper: limits, origin check and authentication in front of the view."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.view = BerthGraphQL(settings)
        self.allowed_origins = allowed_origins(settings.allowed_origins, settings.public_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        url_credential = credential_in_query(scope.get("query_string", b""))
        if scope["type"] == "websocket":
            if not self._origin_allowed(scope) or url_credential:
                websocket = WebSocket(scope, receive, send)
                await websocket.close(code=4403, reason="Origin not allowed" if not url_credential else "")
                return
            await self.view(scope, limit_message_size(receive, send, MAX_BODY_BYTES), send)
            return
        if url_credential:
            return await self._send(send, 400, _error_body(REFUSAL, "BAD_REQUEST"))
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
            principal = await authenticate_authorization(
                request.headers.get("authorization"), remote_address(request)
            )
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
        origin = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"origin"), None)
        return origin_allowed(origin, self.allowed_origins)


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
