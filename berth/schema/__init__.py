"""The GraphQL schema of the contract: types, inputs, enums and `@requiresScopes`.

Layers (tested by tests/test_layers.py), imports pointing one way:

    schema roots → resolvers → schema building blocks → domain → models

- Roots: `berth.schema.query`, `.mutation`, `.subscription`, `.build` (and this package's
  `build_schema`). They declare the root fields and delegate each to `berth.resolvers`.
- Building blocks: everything else here (`types/`, `ids`, `errors`, `loaders`, `context`,
  `directives`, `deployment_pages` …). Object types resolve their own nested fields from
  the request's loaders and the domain; they never import `berth.resolvers`.
- Only `berth.schema` and `berth.resolvers` import strawberry.

`build_schema` is imported lazily, so that a resolver importing a building block (which
runs this `__init__`) does not pull in the roots, which import the resolvers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from berth.schema.build import build_schema

__all__ = ["build_schema"]


def __getattr__(name: str) -> Any:
    if name == "build_schema":
        from berth.schema.build import build_schema

        return build_schema
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
