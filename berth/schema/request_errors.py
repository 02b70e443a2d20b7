"""Errors about the request as a whole, found before execution: which operation to run,
and a stable `extensions.code` for every such error (CONTRACT §2: errors carry codes).

Operation selection follows the GraphQL spec's GetOperation: with no `operationName`, a
document must hold exactly one operation; a given name must name one of them. Strawberry
otherwise runs the first operation of the document, and reports an unknown name outside
the GraphQL response.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError, GraphQLSyntaxError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from berth.schema.errors import CodedError

PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
# A request that cannot run as sent: no such operation, or no operation chosen.
BAD_REQUEST = "BAD_REQUEST"
# Variables that do not fit their declared types (graphql-core reports them at execution).
BAD_USER_INPUT = "BAD_USER_INPUT"


def selection_error(operation_names: list[str | None], requested: str | None) -> CodedError | None:
    """Why `requested` selects no single operation of a document with these operations."""
    if requested is None:
        if len(operation_names) > 1:
            return CodedError("Must provide operation name if query contains multiple operations.", BAD_REQUEST)
        return None
    if requested not in operation_names:
        return CodedError(f"Unknown operation named {requested!r}.", BAD_REQUEST)
    return None


class RequestErrors(SchemaExtension):
    """Refuses documents whose operation is not determined, and codes pre-execution errors."""

    _validation_errors: frozenset[int] = frozenset()

    def on_parse(self) -> Iterator[None]:
        yield
        # Reached only when the document parsed. An error raised here is reported as a
        # request error, like a syntax error, before the operation type is even looked at.
        context = self.execution_context
        document = context.graphql_document
        if document is None:
            return
        names = [d.name.value if d.name else None for d in document.definitions
                 if isinstance(d, OperationDefinitionNode)]
        requested = getattr(context, "_provided_operation_name", None)
        problem = selection_error(names, requested)
        if problem is not None:
            raise problem

    def on_validate(self) -> Iterator[None]:
        yield
        self._validation_errors = frozenset(id(e) for e in self.execution_context.pre_execution_errors or [])

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or getattr(result, "data", None) is not None:
            return
        for error in getattr(result, "errors", None) or []:
            if error.path or (error.extensions or {}).get("code"):
                continue  # a field error, or already coded
            error.extensions = {**(error.extensions or {}), "code": self._code_of(error)}

    def _code_of(self, error: GraphQLError) -> str:
        if isinstance(error, GraphQLSyntaxError) or isinstance(error.original_error, GraphQLSyntaxError):
            return PARSE_FAILED
        if id(error) in self._validation_errors:
            return VALIDATION_FAILED
        return BAD_USER_INPUT
