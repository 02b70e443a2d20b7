"""The GraphQL schema of the contract: types, inputs, enums and `@requiresScopes`."""

from berth.schema.build import build_schema

__all__ = ["build_schema"]
