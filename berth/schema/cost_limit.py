"""Refuse an operation whose estimated cost (berth.schema.cost) is over the limit, before
anything runs: `QUERY_TOO_COMPLEX` with `cost` and `limit` in its extensions.

The check needs a document that passed validation: `CachedDocuments` (listed before this
extension) marks one by setting `pre_execution_errors` to `[]` in its own `on_validate`, and
setting them to the refusal here makes Strawberry skip validation and execution alike. A
document that did not pass is left to Strawberry, which reports its validation errors.

HTTP and both WebSocket protocols run through the same schema, so a subscription is checked
at subscribe time exactly as a query is.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from threading import Lock
from typing import Any

from graphql import DocumentNode, GraphQLSchema
from strawberry.extensions import SchemaExtension

from berth.schema.cost import query_cost
from berth.schema.errors import CodedError

# Distinct (document, operation, page sizes) costs kept; bounded like the document cache.
MAX_COSTS = 1024


def too_complex(cost: int, limit: int) -> CodedError:
    return CodedError(
        f"Query too complex: its estimated cost is {cost}, the limit is {limit} "
        "(ask for smaller pages, fewer nested lists or fewer heavy fields such as artifact).",
        "QUERY_TOO_COMPLEX",
        cost=cost,
        limit=limit,
    )


def _variables_key(variables: Mapping[str, Any] | None) -> tuple[tuple[str, int], ...]:
    # Only integers can be page sizes: other variables never change the cost, so requests
    # that differ only in an id or a filter share one entry.
    if not variables:
        return ()
    return tuple(sorted(
        (name, value) for name, value in variables.items()
        if isinstance(value, int) and not isinstance(value, bool)
    ))


class CostCache:
    """(document, operation name, integer variables) → cost, least recently used dropped.
    Each entry keeps its document, so an id reused after the document is gone never hits."""

    def __init__(self, maxsize: int = MAX_COSTS) -> None:
        self.maxsize = maxsize
        self._costs: OrderedDict[tuple[int, str | None, tuple[tuple[str, int], ...]], tuple[DocumentNode, int]]
        self._costs = OrderedDict()
        self._lock = Lock()

    def cost(self, schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
             variables: Mapping[str, Any] | None) -> int:
        key = (id(document), operation_name, _variables_key(variables))
        with self._lock:
            known = self._costs.get(key)
            if known is not None and known[0] is document:
                self._costs.move_to_end(key)
                return known[1]
        cost = query_cost(schema, document, operation_name, variables)
        with self._lock:
            self._costs[key] = (document, cost)
            if len(self._costs) > self.maxsize:
                self._costs.popitem(last=False)
        return cost


class QueryCostLimit(SchemaExtension):
    def __init__(self, limit: int, cache: CostCache) -> None:
        self.limit = limit
        self.cache = cache

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors == []:
            cost = self.cache.cost(context.schema._schema, document, context.operation_name, context.variables)
            if cost > self.limit:
                context.pre_execution_errors = [too_complex(cost, self.limit)]
        yield
