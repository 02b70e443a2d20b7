"""Assembling the schema with its limits (CONTRACT §6) and its scope guards (§2)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

import strawberry
from graphql import OperationType
from strawberry.extensions import DisableIntrospection, MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType as StrawberryOperationType

from berth.schema.audit_trail import install_audit_trail
from berth.schema.cost import operation_of
from berth.schema.cost_limit import CostCache, QueryCostLimit
from berth.schema.deadline import first_within, timed_out, within
from berth.schema.documents import CachedDocuments, DocumentCache
from berth.schema.errors import MaskUnexpectedErrors
from berth.schema.mutation import Mutation
from berth.schema.plain import plain_execution_context
from berth.schema.query import Query
from berth.schema.request_errors import RequestErrors
from berth.schema.scalars import SCALARS
from berth.schema.scope_guard import install_scope_guards, type_scopes
from berth.schema.types.deployment import Deployment
from berth.schema.types.identity import ApiToken
from berth.schema.types.inventory import Environment, Project, Server, Service
from berth.settings import DEFAULT_MAX_QUERY_COST, DEFAULT_QUERY_TIMEOUT_SECONDS

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 5000


class BerthSchema(strawberry.Schema):
    """A schema that also knows the scopes each type declares (for `node(id:)`)."""

    type_scopes: dict[str, frozenset[str]]
    # (type, field) → scopes its guard requires (what `install_scope_guards` enforces).
    field_scopes: dict[tuple[str, str], frozenset[str]]

    documents: DocumentCache
    query_timeout_seconds: float = DEFAULT_QUERY_TIMEOUT_SECONDS

    def process_errors(self, errors: list[Any], execution_context: Any = None) -> None:
        """Expected errors (FORBIDDEN, validation) are answers, not incidents: the masking
        extension logs the unexpected ones with their request id."""

    async def execute(  # type: ignore[override]
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[StrawberryOperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """A query (HTTP) within the time budget (berth.schema.deadline)."""
        running = super().execute(
            query, variable_values, context_value, root_value, operation_name,
            allowed_operation_types, operation_extensions,
        )
        if not self._is_query(query, operation_name):
            return await running
        try:
            return await within(self.query_timeout_seconds, running)
        except TimeoutError:
            return ExecutionResult(data=None, errors=[timed_out(self.query_timeout_seconds)])

    async def stream(  # type: ignore[override]
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
        allowed_operation_types: Iterable[StrawberryOperationType] | None = None,
    ) -> AsyncIterator[Any]:
        """A query over a WebSocket gets the same time budget; a subscription is a stream
        and has none."""
        results = await super().stream(
            query, variable_values, context_value, root_value, operation_name,
            operation_extensions, allowed_operation_types,
        )
        if not self._is_query(query, operation_name):
            return results  # type: ignore[no-any-return]
        timeout = ExecutionResult(data=None, errors=[timed_out(self.query_timeout_seconds)])
        return first_within(self.query_timeout_seconds, results, timeout)  # type: ignore[arg-type]

    def _is_query(self, query: str | None, operation_name: str | None) -> bool:
        """Only queries have a deadline. A mutation is not cancelled half-way: on SQLite a
        transaction cancelled mid-flight leaves the one connection blocked for everyone."""
        document = self.documents.parsed(query) if query else None
        operation = operation_of(document, operation_name) if document is not None else None
        return operation is not None and operation.operation is OperationType.QUERY


def build_schema(
    production: bool = False,
    *,
    max_query_cost: int = DEFAULT_MAX_QUERY_COST,
    query_timeout_seconds: float = DEFAULT_QUERY_TIMEOUT_SECONDS,
) -> BerthSchema:
    # The limits' validation rules, built once: documents that passed them are cached.
    limits: list[Any] = [QueryDepthLimiter(max_depth=MAX_DEPTH), MaxAliasesLimiter(max_alias_count=MAX_ALIASES)]
    if production:
        limits.append(DisableIntrospection())
    documents = DocumentCache(
        rules=tuple(rule for limit in limits for rule in limit.validation_rules), max_tokens=MAX_TOKENS
    )
    costs = CostCache()
    extensions: list[Any] = [
        MaskUnexpectedErrors,
        # A factory: Strawberry builds a fresh extension per request (the cache is shared).
        lambda: CachedDocuments(documents),
        # After CachedDocuments: it needs the document that one validated.
        lambda: QueryCostLimit(max_query_cost, costs),
        RequestErrors,
    ]
    from berth.schema.subscription import Subscription

    schema = BerthSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Deployment, Service, Project, Environment, Server, ApiToken],
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=production, scalar_map=SCALARS),
    )
    schema.documents = documents
    schema.query_timeout_seconds = query_timeout_seconds
    schema.field_scopes = install_scope_guards(schema._schema)
    # Pages in memory complete in one pass, their fields' scopes decided as the guards would.
    schema.execution_context_class = plain_execution_context(schema.field_scopes)
    # After the scope guards: the audit wrapper sees their refusals too.
    install_audit_trail(schema._schema)
    schema.type_scopes = type_scopes(schema._schema)
    return schema
