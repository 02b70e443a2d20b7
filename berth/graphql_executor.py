"""GraphQL executed in-process: the MCP endpoint's executor (berth.mcp.executor).

The same schema object as `/graphql` (its limits, scope guards, masking and document
cache) and a `Context` built as the HTTP view builds it, for the principal that the
MCP request authenticated and with that request: scopes, project limits, error
codes, idempotency and the audit trail are the API's own.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from strawberry.types.graphql import OperationType

from berth.auth.principal import Principal
from berth.mcp.executor import Executor
from berth.schema.build import BerthSchema
from berth.schema.context import Context

# MCP tools are queries and mutations; a subscription is never one of their operations.
OPERATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})


class InProcessExecutors:
    def __init__(self, schema: BerthSchema) -> None:
        self.schema = schema

    def __call__(self, principal: Principal, request: Request) -> Executor:
        async def execute(document: str, variables: dict[str, Any]) -> dict[str, Any]:
            context = Context(request=request, principal=principal, type_scopes=self.schema.type_scopes)
            result = await self.schema.execute(document, variables, context_value=context,
                                               allowed_operation_types=OPERATIONS)
            # The GraphQL-over-HTTP response shape, as the view formats it.
            body: dict[str, Any] = {"data": result.data}
            if result.errors:
                body["errors"] = [error.formatted for error in result.errors]
            return body

        return execute
