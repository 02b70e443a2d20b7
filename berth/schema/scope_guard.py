"""Enforcement of `@requiresScopes`, read from the very declarations the SDL prints.

A field requires the union of its own scopes and those of the object type it returns
(CONTRACT §2); fields of a scoped type need nothing more once the edge into it passed.
The sets are computed once when the schema is built; at run time a field with
requirements asks the request context, which decides once per set per request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLObjectType, GraphQLSchema, default_field_resolver, get_named_type

from berth.schema.directives import RequiresScopes

DEFINITION = "strawberry-definition"


def _scopes_of(definition: Any) -> frozenset[str]:
    scopes: set[str] = set()
    for directive in getattr(definition, "directives", None) or ():
        if isinstance(directive, RequiresScopes):
            scopes.update(directive.scopes)
    return frozenset(scopes)


def type_scopes(schema: GraphQLSchema) -> dict[str, frozenset[str]]:
    """Scopes every object type declares for itself (`type X @requiresScopes`)."""
    found: dict[str, frozenset[str]] = {}
    for name, gql_type in schema.type_map.items():
        if isinstance(gql_type, GraphQLObjectType):
            scopes = _scopes_of((gql_type.extensions or {}).get(DEFINITION))
            if scopes:
                found[name] = scopes
    return found


def field_requirements(schema: GraphQLSchema) -> dict[tuple[str, str], frozenset[str]]:
    """(type, field) → scopes a caller needs to resolve it: its own ∪ its return type's."""
    by_type = type_scopes(schema)
    requirements: dict[tuple[str, str], frozenset[str]] = {}
    for name, gql_type in schema.type_map.items():
        if not isinstance(gql_type, GraphQLObjectType) or name.startswith("__"):
            continue
        for field_name, gql_field in gql_type.fields.items():
            own = _scopes_of((gql_field.extensions or {}).get(DEFINITION))
            returned = by_type.get(get_named_type(gql_field.type).name, frozenset())
            if own | returned:
                requirements[(name, field_name)] = own | returned
    return requirements


def _guard(required: frozenset[str], inner: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(source: Any, info: Any, **arguments: Any) -> Any:
        denial = info.context.denial(required)
        if denial is not None:
            raise denial
        return inner(source, info, **arguments)

    return guarded


def install_scope_guards(schema: GraphQLSchema) -> dict[tuple[str, str], frozenset[str]]:
    """Wrap exactly the fields with requirements; every other field runs untouched."""
    requirements = field_requirements(schema)
    for (type_name, field_name), required in requirements.items():
        gql_type = schema.type_map[type_name]
        assert isinstance(gql_type, GraphQLObjectType)
        gql_field = gql_type.fields[field_name]
        if gql_field.subscribe is not None:
            gql_field.subscribe = _guard(required, gql_field.subscribe)
        gql_field.resolve = _guard(required, gql_field.resolve or default_field_resolver)
    return requirements
