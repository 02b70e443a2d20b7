"""`@requiresScopes`: printed in the SDL, and the declaration enforcement reads."""

from __future__ import annotations

import strawberry
from strawberry.schema_directive import Location


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION, Location.OBJECT],
    name="requiresScopes",
    description="All listed scopes are required to resolve the field.",
)
class RequiresScopes:
    scopes: list[str]


def requires(*scopes: str) -> list[object]:
    """`directives=` value for a type or field that needs these scopes."""
    return [RequiresScopes(scopes=list(scopes))]
