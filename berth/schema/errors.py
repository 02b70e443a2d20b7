"""GraphQL errors with stable codes, and masking of everything unexpected (CONTRACT §2)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import MaskErrors
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

log = logging.getLogger("berth.graphql")


class CodedError(GraphQLError):
    """An expected error: its message and `extensions.code` reach the client as they are."""

    def __init__(self, message: str, code: str, **extensions: Any) -> None:
        super().__init__(message, extensions={"code": code, **extensions})


def unauthenticated() -> CodedError:
    return CodedError("Authentication required: send a bearer credential.", "UNAUTHENTICATED")


def forbidden(required: list[str], missing: list[str]) -> CodedError:
    return CodedError(
        f"Missing scope(s): {', '.join(missing)}.",
        "FORBIDDEN",
        requiredScopes=required,
        missingScopes=missing,
    )


# The client's mistakes that Strawberry reports with its own exception as the original
# (no query; an operation the transport does not allow, e.g. a query over legacy graphql-ws).
_CLIENT_MISTAKES = (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError)


def _is_expected(error: GraphQLError) -> bool:
    original = error.original_error
    # Validation and parse errors carry no original error; resolver errors we raise on
    # purpose are CodedErrors. Anything else is a bug or an infrastructure failure.
    return original is None or isinstance(original, (GraphQLError, *_CLIENT_MISTAKES))


class MaskUnexpectedErrors(MaskErrors):
    """Unexpected exceptions become INTERNAL_SERVER_ERROR with the request id; the
    traceback is logged server-side under that id."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not _is_expected(error))

    def on_operation(self) -> Iterator[None]:
        # Each operation is its own request with its own id — also each operation of one
        # WebSocket connection, which shares a context (whose loaders and scope decisions
        # are then per operation as well; see berth.schema.context).
        begin = getattr(self.execution_context.context, "begin_operation", None)
        if begin is not None:
            begin()
        yield from super().on_operation()

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        context = self.execution_context.context
        request_id = getattr(context, "request_id", None)
        original = error.original_error
        log.error(
            "unexpected error in %s (request %s)",
            ".".join(str(p) for p in error.path or []),
            request_id,
            exc_info=(type(original), original, original.__traceback__) if original else None,
        )
        return GraphQLError(
            message="Internal server error.",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        )
