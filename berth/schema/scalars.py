"""The `DateTime` scalar, parsed by the one moment parser (`berth.domain.moments`).

Strawberry's own accepts text whose instant leaves the datetime range once converted to
UTC (year 9999 with a negative offset); the comparison in SQL then overflowed into an
internal error. This one hands resolvers aware UTC datetimes only, and refuses the rest
as a coercion error that names the argument or variable (graphql-core adds where).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError, StringValueNode, ValueNode, print_ast
from strawberry.exceptions import StrawberryInputCoercionError

from berth.domain.moments import BadMoment, parse_moment


def _parse(value: Any) -> datetime:
    try:
        return parse_moment(value)
    except BadMoment as problem:
        # A GraphQLError: graphql-core reports it as the client's mistake (not masked).
        raise StrawberryInputCoercionError(f"Value cannot represent a DateTime: it {problem}.") from None


def _parse_literal(node: ValueNode, _variables: Any = None) -> datetime:
    # graphql-core reports a GraphQLError from here as it is: it must say where and what.
    try:
        if not isinstance(node, StringValueNode):
            raise BadMoment("must be an ISO 8601 date-time string")
        return parse_moment(node.value)
    except BadMoment as problem:
        raise GraphQLError(f"Expected value of type 'DateTime', found {print_ast(node)}: it {problem}.",
                           node) from None


DateTime = strawberry.scalar(
    name="DateTime",
    description="Date with time (isoformat)",
    serialize=datetime.isoformat,
    parse_value=_parse,
    parse_literal=_parse_literal,
)

SCALARS: dict[object, Any] = {datetime: DateTime}
