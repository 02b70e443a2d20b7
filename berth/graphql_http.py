"""GraphQL over HTTP at `/graphql`: methods, media types, request shape, status codes.

What the GraphQL-over-HTTP spec asks of a server, and what Strawberry leaves out (a body
of `null` was a plain-text 500, an unknown operation name a plain-text 400, subscriptions
over POST answered `200 {"data": null}`). Two pieces:

- `GraphQLOverHTTP` wraps the endpoint (outside authentication): only GET and POST (405),
  the response media type negotiated from `Accept` (406 when we can produce nothing it
  lists), and every JSON answer of the endpoint labelled with the negotiated type.
- `GraphQLOverHTTPView` is mixed into the Strawberry view: it reads the request (GET
  parameters or a JSON object body; 415 for another content type, 400 for anything else
  malformed), keeps subscriptions on WebSocket and mutations off GET, and gives every
  refusal the contract's coded JSON error instead of Strawberry's plain text.

Status codes: with `application/json` (also for `*/*` and no Accept) a well-formed request
always gets 200, request errors (parse, validation, variables) included — what existing
clients expect. With `application/graphql-response+json` a request error, i.e. a response
without data, is a 400 and carries no `data` entry (internal errors stay 500).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError, OperationDefinitionNode, parse
from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from berth.http.metrics import OPERATION_KEY

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
# Scope state: the media type negotiated for this request's response.
MEDIA_TYPE_KEY = "berth.media_type"
# Scope state: the status a request error gets (set while the result is processed).
REQUEST_ERROR_STATUS_KEY = "berth.request_error_status"
ALLOWED_METHODS = ("GET", "POST")

# The `extensions.code` of a refusal at the HTTP level, by status (CONTRACT §2 shape).
CODE_OF_STATUS = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    413: "BAD_REQUEST",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


class RequestRefused(HTTPException):
    """An HTTP-level refusal: status, message, and headers to send with it (e.g. `Allow`)."""

    def __init__(self, status_code: int, reason: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status_code, reason)
        self.headers = dict(headers or {})


def error_body(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


def error_response(status: int, message: str, media_type: str = JSON,
                   headers: Mapping[str, str] | None = None) -> Response:
    code = CODE_OF_STATUS.get(status, "BAD_REQUEST")
    return Response(json.dumps(error_body(message, code)), status, headers=dict(headers or {}),
                    media_type=media_type)


# ---------------------------------------------------------------- Accept

def _accept_ranges(accept: str) -> list[tuple[str, float]]:
    """(media range, q) for each entry of an Accept header; malformed q values count as 0."""
    ranges = []
    for entry in accept.split(","):
        media_range, *params = (part.strip() for part in entry.split(";"))
        if not media_range:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
                if not 0.0 <= q <= 1.0:  # also NaN
                    q = 0.0
        ranges.append((media_range.lower(), q))
    return ranges


def _quality(media_type: str, ranges: list[tuple[str, float]]) -> tuple[float, int]:
    """The q the most specific matching range gives `media_type`, and that specificity
    (2 exact, 1 `type/*`, 0 `*/*`); (0, -1) when no range matches."""
    kind = media_type.split("/")[0]
    best = (0.0, -1)
    for media_range, q in ranges:
        specificity = 2 if media_range == media_type else 1 if media_range == f"{kind}/*" else (
            0 if media_range == "*/*" else -1)
        if specificity > best[1]:
            best = (q, specificity)
    return best


def negotiate(accept: str | None) -> str | None:
    """The media type to answer in, or None when `accept` rules out both we produce.

    No Accept, `*/*` and `application/*` get `application/json` (the legacy behaviour);
    `application/graphql-response+json` is chosen when it is asked for by name and not
    given a lower q than `application/json`."""
    if accept is None or not accept.strip():
        return JSON
    ranges = _accept_ranges(accept)
    json_q, _ = _quality(JSON, ranges)
    graphql_q, graphql_specificity = _quality(GRAPHQL_RESPONSE, ranges)
    if graphql_q > 0 and graphql_specificity == 2 and graphql_q >= json_q:
        return GRAPHQL_RESPONSE
    if json_q > 0:
        return JSON
    if graphql_q > 0:
        return GRAPHQL_RESPONSE
    return None


def media_type_of(scope: Scope) -> str:
    return str(scope.get("state", {}).get(MEDIA_TYPE_KEY, JSON))


def _wants_graphiql(scope: Scope, headers: Headers) -> bool:
    # The browser's request for the IDE page (Strawberry's own rule, plus no `query`).
    return (scope["method"] == "GET" and "query" not in QueryParams(scope.get("query_string", b""))
            and "text/html" in headers.get("accept", ""))


class GraphQLOverHTTP:
    """ASGI wrapper of the `/graphql` endpoint: methods and Accept (see the module doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if scope["method"] not in ALLOWED_METHODS:
            refusal = error_response(405, "GraphQL is served over GET (queries only) and POST.",
                                     headers={"Allow": ", ".join(ALLOWED_METHODS)})
            await refusal(scope, receive, send)
            return
        if _wants_graphiql(scope, headers):
            await self.app(scope, receive, send)
            return
        media_type = negotiate(headers.get("accept"))
        if media_type is None:
            refusal = error_response(
                406, f"Not acceptable: this endpoint answers in {GRAPHQL_RESPONSE} or {JSON}.")
            await refusal(scope, receive, send)
            return
        scope.setdefault("state", {})[MEDIA_TYPE_KEY] = media_type
        await self.app(scope, receive, _labelled(send, media_type))


def _labelled(send: Send, media_type: str) -> Send:
    """Every JSON answer (the view's, authentication's 401, the 413) in the negotiated type."""
    if media_type == JSON:
        return send

    async def labelled(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [
                (name, media_type.encode() if name.lower() == b"content-type" and value.startswith(JSON.encode())
                 else value)
                for name, value in message.get("headers", [])
            ]}
        await send(message)

    return labelled


# ---------------------------------------------------------------- the request

def _single(params: QueryParams, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise RequestRefused(400, f"The `{name}` parameter is given more than once.")
    return values[0] if values else None


def _json_value(text: str | bytes, what: str) -> Any:
    """JSON as RFC 8259 has it: UTF-8, no NaN or Infinity; too deep is malformed too."""
    def refuse_constant(name: str) -> Any:
        raise ValueError(name)

    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return json.loads(text, parse_constant=refuse_constant)
    except (ValueError, RecursionError):
        raise RequestRefused(400, f"{what} is not valid JSON.") from None


def _media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    media_type, *params = (part.strip() for part in (content_type or "").split(";"))
    parsed = {}
    for param in params:
        name, _, value = param.partition("=")
        parsed[name.strip().lower()] = value.strip().strip('"').lower()
    return media_type.lower(), parsed


def request_data(fields: Mapping[str, Any]) -> GraphQLRequestData:
    """The operation a request asks for, each member checked (GraphQL-over-HTTP §request)."""
    query = fields.get("query")
    if query is None or query == "":
        raise RequestRefused(400, "No GraphQL query found in the request: send `query`.")
    if not isinstance(query, str):
        raise RequestRefused(400, "`query` must be a string.")
    operation_name = fields.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestRefused(400, "`operationName` must be a string or null.")
    for name in ("variables", "extensions"):
        if fields.get(name) is not None and not isinstance(fields.get(name), dict):
            raise RequestRefused(400, f"`{name}` must be an object or null.")
    return GraphQLRequestData(query=query, variables=fields.get("variables"), operation_name=operation_name,
                              extensions=fields.get("extensions"))


async def parse_request(request: AsyncHTTPRequestAdapter) -> GraphQLRequestData:
    if request.method == "GET":
        params = request.query_params
        if not isinstance(params, QueryParams):
            params = QueryParams(params)  # type: ignore[arg-type]
        fields: dict[str, Any] = {name: _single(params, name)
                                  for name in ("query", "operationName", "variables", "extensions")}
        for name in ("variables", "extensions"):
            if fields[name]:
                fields[name] = _json_value(fields[name], f"The `{name}` parameter")
            else:
                fields[name] = None
        return request_data(fields)
    media_type, params = _media_type(request.content_type)
    if media_type != JSON or params.get("charset", "utf-8") != "utf-8":
        raise RequestRefused(415, f"Send the request as {JSON} (UTF-8).", {"Accept-Post": JSON})
    body = _json_value(await request.get_body(), "The request body")
    if isinstance(body, list):
        raise RequestRefused(400, "Batching is not supported: send one operation per request.")
    if not isinstance(body, dict):
        raise RequestRefused(400, "The request body must be a JSON object with a `query`.")
    return request_data(body)


def _refusal_of(error: InvalidOperationTypeError, method: str) -> RequestRefused:
    if error.operation_type == OperationType.SUBSCRIPTION:
        return RequestRefused(400, "Subscriptions are served over WebSocket at /graphql "
                                   "(graphql-transport-ws or graphql-ws), not over HTTP.")
    if error.operation_type == OperationType.MUTATION and method == "GET":
        return RequestRefused(405, "Mutations are not allowed over GET: use POST.", {"Allow": "POST"})
    return RequestRefused(400, error.as_http_error_reason(method))


@functools.lru_cache(maxsize=512)
def operation_type(query: str | None, operation_name: str | None) -> str:
    """query, mutation or subscription, as the document says (for metrics); "invalid" for
    a document that does not parse or name one operation. Cached: clients repeat queries."""
    if not query:
        return "invalid"
    try:
        document = parse(query)
    except GraphQLError:
        return "invalid"
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [d for d in operations if operation_name is None or (d.name and d.name.value == operation_name)]
    return chosen[0].operation.value if len(chosen) == 1 else "invalid"


def is_request_error(response: GraphQLHTTPResponse) -> bool:
    """No data and no error of a field: the request as a whole failed before execution."""
    errors = response.get("errors") or []
    return response.get("data") is None and bool(errors) and all(
        isinstance(e, dict) and not e.get("path") for e in errors)


class GraphQLOverHTTPView:
    """Mixin for `strawberry.asgi.GraphQL` (first among the bases; see the module doc)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)  # type: ignore[misc]
            return
        request = Request(scope, receive)
        try:
            response: Response = await self.run(request)  # type: ignore[attr-defined]
        except RequestRefused as refusal:
            response = error_response(refusal.status_code, refusal.reason, media_type_of(scope), refusal.headers)
        except HTTPException as error:
            response = error_response(error.status_code, error.reason, media_type_of(scope))
        status = scope.get("state", {}).get(REQUEST_ERROR_STATUS_KEY)
        if status is not None:
            response.status_code = status
        await response(scope, receive, send)

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData:
        return await parse_request(request)

    async def execute_single(self, request: Any, request_adapter: AsyncHTTPRequestAdapter, sub_response: Any,
                             context: Any, root_value: Any, request_data: GraphQLRequestData) -> ExecutionResult:
        # Queries over GET; queries and mutations over POST; subscriptions never over HTTP.
        allowed = {OperationType.QUERY} if request_adapter.method == "GET" else {
            OperationType.QUERY, OperationType.MUTATION}
        operation = operation_type(request_data.query, request_data.operation_name)
        request.scope.setdefault("state", {})[OPERATION_KEY] = operation
        try:
            return await self.schema.execute(  # type: ignore[attr-defined,no-any-return]
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except InvalidOperationTypeError as error:
            raise _refusal_of(error, request_adapter.method) from None
        except CannotGetOperationTypeError as error:
            raise RequestRefused(400, error.as_http_error_reason()) from None
        except MissingQueryError:
            raise RequestRefused(400, "No GraphQL query found in the request: send `query`.") from None

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        response: GraphQLHTTPResponse = await super().process_result(request, result)  # type: ignore[misc]
        if media_type_of(request.scope) == GRAPHQL_RESPONSE and is_request_error(response):
            internal = any((e.get("extensions") or {}).get("code") == "INTERNAL_SERVER_ERROR"
                           for e in response.get("errors") or [] if isinstance(e, dict))
            request.scope.setdefault("state", {})[REQUEST_ERROR_STATUS_KEY] = 500 if internal else 400
            response.pop("data", None)  # a request error has no `data` entry at all
        return response


__all__ = ["GraphQLOverHTTP", "GraphQLOverHTTPView", "error_body", "error_response", "negotiate"]
