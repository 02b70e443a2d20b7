"""Plain completion: a page already in memory completed into response data in one pass.

graphql-core completes a value field by field: for each field of each row a resolve info,
the resolver through Strawberry's wrapper and the scope guard, then the completion of what
it returned. For a page of 50 deployments that is thousands of calls doing little each —
the overhead a bare Strawberry schema pays too. A resolver whose page is in memory (its
edges prefetched into the loaders) returns it wrapped in `Plain`; the execution context
then walks the same selection with graphql-core's own field collection (fragments,
aliases, @skip/@include, merged fields, memoised per type), takes the same values
(Strawberry's attributes and resolvers) and serialises them with the schema's own leaf
types, deciding each field's scopes once per operation.

What it does not take on, it gives back, and the page is then completed the ordinary way,
where each of those has its ordinary outcome (an error at its path, loaders batching):
a selected field with arguments, an async resolver, an abstract type, a field the
caller's scopes refuse, a null in a non-null position, an exception, @defer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from inspect import isawaitable
from operator import attrgetter
from typing import Any, TypeVar, cast

from graphql import (
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField
from strawberry.types.info import Info

DEFINITION = "strawberry-definition"
TYPENAME = "__typename"

# How pages were completed since the process started: "plain" or "given back" (tests and
# the benchmark read it; a page given back is correct, only slower).
COMPLETIONS: Counter[str] = Counter()


@dataclass(frozen=True, slots=True)
class Plain:
    """A resolver's result that may be completed in one pass (see the module)."""

    value: Any


T = TypeVar("T")


def plain(value: T) -> T:
    """`value` marked for the one-pass completion, typed as what it completes to (so a
    resolver keeps its GraphQL return type)."""
    return cast(T, Plain(value))


class _GiveBack(Exception):
    """The plain pass does not take this selection on: complete it the ordinary way."""


Getter = Callable[[Any], Any]
Completer = Callable[[Any], Any]


class PlainExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, completing `Plain` results in one pass."""

    # (type, field) → the scopes its guard requires (`scope_guard.field_requirements`).
    field_scopes: dict[tuple[str, str], frozenset[str]] = {}

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        if type(result) is Plain:
            try:
                completed = _Pass(self, info).complete(return_type, field_details_list, result.value)
            except _GiveBack:
                COMPLETIONS["given back"] += 1
                result = result.value
            else:
                COMPLETIONS["plain"] += 1
                return completed
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)


class _Pass:
    """One plain completion, compiled: per (type, selection) a function from a source to
    its completed value, built once (fields collected, getters and scopes decided) and then
    applied to every row."""

    def __init__(self, execution: PlainExecutionContext, info: GraphQLResolveInfo) -> None:
        self.execution = execution
        self.info = info
        self.scopes = execution.field_scopes

    def complete(self, gql_type: GraphQLOutputType, details: FieldDetailsList, value: Any) -> Any:
        return self._compile(gql_type, details)(value)

    def _compile(self, gql_type: GraphQLOutputType, details: FieldDetailsList) -> Completer:
        if isinstance(gql_type, GraphQLNonNull):
            inner = self._compile(gql_type.of_type, details)

            def non_null(value: Any) -> Any:
                completed = inner(value)
                if completed is None:
                    raise _GiveBack  # the ordinary way reports the null at its path
                return completed

            return non_null
        if isinstance(gql_type, GraphQLList):
            item = self._compile(gql_type.of_type, details)

            def listed(value: Any) -> Any:
                if value is None or value is Undefined:
                    return None
                return [item(element) for element in value]

            return listed
        if is_leaf_type(gql_type):
            coerce = gql_type.coerce_output_value  # type: ignore[union-attr]

            def leaf(value: Any) -> Any:
                if value is None or value is Undefined:
                    return None
                coerced = coerce(value)
                if coerced is None or coerced is Undefined:
                    raise _GiveBack
                return coerced

            return leaf
        if isinstance(gql_type, GraphQLObjectType):
            return self._compile_object(gql_type, details)
        raise _GiveBack  # an interface or a union: its runtime type is the ordinary way's

    def _compile_object(self, gql_type: GraphQLObjectType, details: FieldDetailsList) -> Completer:
        collected = self.execution.collect_subfields(gql_type, details)
        if collected.new_defer_usages:
            raise _GiveBack
        # (response key, getter, completer); no getter: the completer is the constant value.
        fields: list[tuple[str, Getter | None, Any]] = []
        for key, field_details in collected.grouped_field_set.items():
            name = field_details[0].node.name.value
            if name == TYPENAME:
                fields.append((key, None, gql_type.name))
                continue
            getter = self._getter(gql_type, name, field_details)
            fields.append((key, getter, self._compile(gql_type.fields[name].type, field_details)))
        is_type_of = gql_type.is_type_of
        info = self.info

        def completed_object(source: Any) -> Any:
            if source is None or source is Undefined:
                return None
            if is_type_of is not None and not is_type_of(source, info):
                raise _GiveBack
            data: dict[str, Any] = {}
            for key, getter, complete in fields:
                if getter is None:
                    data[key] = complete
                    continue
                try:
                    value = getter(source)
                except _GiveBack:
                    raise
                except Exception:
                    raise _GiveBack from None  # the ordinary way raises it again, at its path
                data[key] = complete(value)
            return data

        return completed_object

    def _getter(self, gql_type: GraphQLObjectType, name: str, details: FieldDetailsList) -> Getter:
        """How to read `name` off a source of `gql_type`, decided once per pass."""
        field: GraphQLField | None = gql_type.fields.get(name)
        if field is None or field.args or any(d.node.arguments for d in details):
            raise _GiveBack
        required = self.scopes.get((gql_type.name, name))
        if required is not None and self.info.context.denial(required) is not None:
            raise _GiveBack  # the ordinary way refuses it with its error
        definition = (field.extensions or {}).get(DEFINITION)
        if not isinstance(definition, StrawberryField):
            raise _GiveBack
        if definition.extensions:
            raise _GiveBack
        resolver = definition.base_resolver
        if resolver is None:
            python_name = definition.python_name
            default = definition.default_resolver
            if default is getattr:
                return attrgetter(python_name)
            return lambda source: default(source, python_name)
        if resolver.is_async or resolver.root_parameter is not None or resolver.parent_parameter is not None:
            raise _GiveBack
        call = cast(Callable[..., Any], resolver.wrapped_func)
        takes_self = resolver.self_parameter is not None
        info_parameter = resolver.info_parameter
        keywords: dict[str, Any] = {}
        if info_parameter is not None:
            raw = self.execution.build_resolve_info(field, [d.node for d in details], gql_type, self.info.path)
            keywords[info_parameter.name] = Info(_raw_info=raw, _field=definition)

        def resolve(source: Any) -> Any:
            value = call(source, **keywords) if takes_self else call(**keywords)
            if isawaitable(value):
                close = getattr(value, "close", None)
                if close is not None:
                    close()  # never awaited: not left to warn
                raise _GiveBack  # not in memory after all: the ordinary way batches it
            return value

        return resolve


def plain_execution_context(field_scopes: dict[tuple[str, str], frozenset[str]]) -> type[PlainExecutionContext]:
    """The execution context for a schema whose guards require `field_scopes`."""
    return type("BerthExecutionContext", (PlainExecutionContext,), {"field_scopes": field_scopes})
