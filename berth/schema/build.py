"""Assembling the schema with its limits (CONTRACT §6) and its scope guards (§2)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import DisableIntrospection, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig

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

    def process_errors(self, errors: list[Any], execution_context: Any = None) -> None:
        """Expected errors (FORBIDDEN, validation) are answers, not incidents: the masking
        extension logs the unexpected ones with their request id."""


def build_schema(production: bool = False) -> BerthSchema:
    extensions: list[Any] = [
        MaskUnexpectedErrors,
        # Factories: Strawberry builds a fresh extension per request.
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
    ]
    if production:
        extensions.append(DisableIntrospection)
    from berth.schema.subscription import Subscription

    schema = BerthSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Deployment, Service, Project, Environment, Server, ApiToken],
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=production),
    )
    install_scope_guards(schema._schema)
    schema.type_scopes = type_scopes(schema._schema)
    return schema
