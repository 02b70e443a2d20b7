"""Assembling the schema with its limits (CONTRACT §6) and its scope guards (§2)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import DisableIntrospection, MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig

from berth.schema.documents import CachedDocuments, DocumentCache
from berth.schema.errors import MaskUnexpectedErrors
from berth.schema.mutation import Mutation
from berth.schema.query import Query
from berth.schema.scope_guard import install_scope_guards, type_scopes
from berth.schema.types.deployment import Deployment
from berth.schema.types.identity import ApiToken
from berth.schema.types.inventory import Environment, Project, Server, Service

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 5000


class BerthSchema(strawberry.Schema):
    """A schema that also knows the scopes each type declares (for `node(id:)`)."""

    type_scopes: dict[str, frozenset[str]]
    # (type, field) → scopes its guard requires (what `install_scope_guards` enforces).
    field_scopes: dict[tuple[str, str], frozenset[str]]

    def process_errors(self, errors: list[Any], execution_context: Any = None) -> None:
        """Expected errors (FORBIDDEN, validation) are answers, not incidents: the masking
        extension logs the unexpected ones with their request id."""


def build_schema(production: bool = False) -> BerthSchema:
    # The limits' validation rules, built once: documents that passed them are cached.
    limits: list[Any] = [QueryDepthLimiter(max_depth=MAX_DEPTH), MaxAliasesLimiter(max_alias_count=MAX_ALIASES)]
    if production:
        limits.append(DisableIntrospection())
    documents = DocumentCache(
        rules=tuple(rule for limit in limits for rule in limit.validation_rules), max_tokens=MAX_TOKENS
    )
    extensions: list[Any] = [
        MaskUnexpectedErrors,
        # A factory: Strawberry builds a fresh extension per request (the cache is shared).
        lambda: CachedDocuments(documents),
    ]
    from berth.schema.subscription import Subscription

    schema = BerthSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Deployment, Service, Project, Environment, Server, ApiToken],
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=production),
    )
    schema.field_scopes = install_scope_guards(schema._schema)
    schema.type_scopes = type_scopes(schema._schema)
    return schema
