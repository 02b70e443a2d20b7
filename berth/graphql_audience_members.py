"""One WebSocket subscriber's side of an audience (`berth.graphql_audiences`), for either
protocol's handler: its operation sends the audience's messages with its own id, checks its
own credential before each result goes out, and, should it fall too far behind, leaves the
audience and catches up on an execution of its own."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.websockets import WebSocketDisconnect
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from berth.auth.principal import Principal
from berth.graphql_audiences import Audience, AudienceKey, Member, audience_key, revoked_payload
from berth.metrics import SUBSCRIPTION_EXECUTIONS
from berth.schema.context import Context
from berth.schema.errors import CodedError

log = logging.getLogger("berth.graphql")


async def still_valid(principal: Principal, since: float | None = None) -> bool:
    """Whether the credential holds, by a check begun at or after `since` (loop time)."""
    from berth.resolvers.subscriptions import ensure_still_valid, known_still_valid

    if since is not None and (known := known_still_valid(principal, since)) is not None:
        return known  # answered without waiting (most members of an audience)

    try:
        await ensure_still_valid(principal, since)
    except CodedError:
        return False
    return True


def _subscribe_payload(message: Any) -> tuple[str, str | None, dict[str, Any] | None] | None:
    """(query, operation name, variables) of a subscribe/start message; None when malformed
    (left to Strawberry, which refuses it as it always did)."""
    try:
        payload = message["payload"]
        query, name, variables = payload["query"], payload.get("operationName"), payload.get("variables")
    except (KeyError, TypeError, AttributeError):
        return None
    if not isinstance(query, str) or not (name is None or isinstance(name, str)):
        return None
    if variables is not None and not isinstance(variables, dict):
        return None
    return query, name, variables


class AudienceMember:
    """The operation of one subscriber in an audience (`berth.graphql_audiences`): sends the
    audience's messages with its own id, checks its own credential before each result, and
    catches up on an execution of its own if it fell too far behind."""

    def __init__(
        self,
        handler: SharingHandler,
        operation_id: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        key: AudienceKey,
    ) -> None:
        self.handler = handler
        self.operation_id = operation_id
        self.query = query
        self.operation_name = operation_name
        self.variables = variables
        self.key = key
        assert handler.context.principal is not None
        self.member = Member(handler.context.principal)
        self.audience: Audience | None = None

    def join(self) -> None:
        handler = self.handler

        async def source(principal: Principal) -> AsyncIterator[Any]:
            # The shared execution's own context: the member's view of what may be seen,
            # none of one connection's per-operation state.
            context = Context(
                request=handler.context.request,
                response=handler.context.response,
                principal=principal,
                connection_params=None,  # one member's credential is no business of the others
                type_scopes=handler.context.type_scopes,
            )
            return await handler.schema.subscribe(
                self.query, variable_values=self.variables, context_value=context,
                root_value=handler.root_value, operation_name=self.operation_name,
            )

        self.audience = handler.view.audiences.join(self.key, self.member, source)

    def leave(self) -> None:
        if self.audience is not None:
            self.audience.remove(self.member)

    async def serve(self) -> None:
        """Until the audience ends, the member is refused, or it leaves (task cancelled)."""
        handler = self.handler
        try:
            while True:
                sent = await self.member.next()
                if sent is None:
                    self.leave()
                    await self._catch_up_alone()
                    return
                if sent.kind == "end":
                    await handler.send_end(self.operation_id)
                    return
                if sent.kind == "refused":
                    await handler.send_refusal(self.operation_id, sent.errors)
                    return
                moment = self.member.check_moment(sent)
                if moment is not None:
                    if not await still_valid(self.member.principal, moment):
                        await handler.send_result(self.operation_id, revoked_payload(self.key))
                        await handler.send_end(self.operation_id)
                        return
                    self.member.checked_until = moment
                frame = sent.frame(
                    handler.data_message_type, self.operation_id, handler.view.encode_json,
                    handler.view.max_response_bytes,
                )
                if not await handler.send_frame(self.operation_id, frame):
                    return
                self.member.results_sent += 1
        except (WebSocketDisconnected, WebSocketDisconnect):
            return
        finally:
            self.leave()

    async def _catch_up_alone(self) -> None:
        """As an execution of its own from the start, after the results already sent (one
        row each, in seq order: the same rows), reading them from the database."""
        skip = self.member.results_sent
        SUBSCRIPTION_EXECUTIONS.labels("caught_up").inc()
        log.info("a subscriber fell behind its audience after %d messages; it catches up from the database "
                 "on an execution of its own", skip)
        handler = self.handler
        results = await handler.schema.subscribe(
            self.query, variable_values=self.variables, context_value=handler.context,
            root_value=handler.root_value, operation_name=self.operation_name,
        )
        async with aclosing(results):
            async for result in results:
                if isinstance(result, PreExecutionError):
                    await handler.send_refusal(self.operation_id, [e.formatted for e in result.errors or []])
                    return
                if not isinstance(result, ExecutionResult):
                    continue
                if skip and result.data is not None:  # a row (an ending error has no data)
                    skip -= 1
                    continue
                payload: dict[str, Any] = {"data": result.data}
                if result.errors:
                    payload["errors"] = [error.formatted for error in result.errors]
                if result.extensions:
                    payload["extensions"] = result.extensions
                await handler.send_result(self.operation_id, payload)
        await handler.send_end(self.operation_id)


class SharingHandler:
    """What a protocol handler gives `AudienceMember` (both protocols implement it)."""

    view: Any
    context: Context
    schema: Any
    root_value: Any
    websocket: Any
    data_message_type: str

    async def send_frame(self, operation_id: str, frame: str) -> bool:
        """Send an encoded result message; False when the operation is over on this side."""
        raise NotImplementedError

    async def send_result(self, operation_id: str, payload: dict[str, Any]) -> None:
        raise NotImplementedError

    async def send_refusal(self, operation_id: str, errors: list[Any]) -> None:
        raise NotImplementedError

    async def send_end(self, operation_id: str) -> None:
        raise NotImplementedError

    async def send_text(self, frame: str) -> None:
        try:
            await self.websocket.ws.send_text(frame)
        except WebSocketDisconnect as closed:
            raise WebSocketDisconnected from closed


def shareable(handler: SharingHandler, message: Any) -> tuple[str, str | None, dict[str, Any] | None, AudienceKey] | None:
    parsed = _subscribe_payload(message)
    if parsed is None:
        return None
    key = audience_key(*parsed, handler.context.principal)
    return None if key is None else (*parsed, key)
