"""What an operation would cost, estimated from its validated document before execution.

A document within the depth and alias limits can still ask for a great deal: a connection
of 100 deployments, each with its artifact and another 100 deployments of its service, each
with theirs, repeated under 30 aliases. The cost is the number of things the server would
resolve, weighted: each selected field counts its weight once for every item of the lists
above it.

- A connection field (one with `first`/`last`) is one page: `first` or `last` as sent (a
  literal or a variable), the default page size when absent, never more than the largest
  page (a larger value is refused by the resolver anyway). Its `edges` and `nodes` repeat
  their selections once per item of that page.
- Any other list counts `DEFAULT_LIST_SIZE` items (servers, projects, a service list, the
  steps of a deployment: none of them is paged, none is large in practice).
- Fragments (named and inline) are expanded where they are spread; aliases are separate
  fields, so an aliased copy costs what the original does.
- Fields that are expensive to produce weigh more (`FIELD_WEIGHTS`); `totalCount` is a
  COUNT over the whole filtered set.
- Introspection (`__schema`, `__type`) weighs `INTROSPECTION_WEIGHT`: bounded by the schema,
  and off in production.

The function is pure (schema, document, operation name, variables in; a number out) so
that it can be tested with a table and cached per distinct document and page sizes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_list_type,
)
from graphql.language import ValueNode
from graphql.type import GraphQLNamedType, GraphQLOutputType

from berth.domain.queries import DEFAULT_PAGE, MAX_PAGE

# Items an unpaged list is taken to hold.
DEFAULT_LIST_SIZE = 20

# A field not listed weighs 1.
FIELD_WEIGHTS: Mapping[str, int] = {
    # The whole record as one JSON document: every step, the error and the three views.
    "artifact": 50,
    # The three views and the configuration snapshot: JSON documents built per deployment.
    "declaredConfig": 10,
    "frozenInput": 10,
    "configSnapshot": 10,
    "lastObservedState": 10,
    "liveState": 10,
    # A query of its own per deployment (its lines are then counted as a page).
    "logs": 10,
    # A COUNT(*) over the filtered set.
    "totalCount": 10,
}
INTROSPECTION_WEIGHT = 100

# Arguments that make a field one page of a connection.
PAGE_ARGUMENTS = ("first", "last")
# The lists inside a connection that hold one item per element of the page.
PAGE_LISTS = ("edges", "nodes")

_Fragments = Mapping[str, FragmentDefinitionNode]


def operation_of(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | None:
    """The operation that would run (None when the name matches none or is ambiguous)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        return operations[0] if len(operations) == 1 else None
    return next((op for op in operations if op.name is not None and op.name.value == operation_name), None)


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None = None,
    variables: Mapping[str, Any] | None = None,
) -> int:
    """The estimated cost of running `operation_name` of a validated `document`."""
    operation = operation_of(document, operation_name)
    if operation is None:
        return 0  # nothing would run; execution reports why
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    defaults = {
        definition.variable.name.value: definition.default_value
        for definition in operation.variable_definitions or ()
        if definition.default_value is not None
    }
    walk = _Walk(schema, fragments, dict(variables or {}), defaults)
    return walk.selections(operation.selection_set, root, page=None, seen=frozenset())


class _Walk:
    def __init__(self, schema: GraphQLSchema, fragments: _Fragments, variables: dict[str, Any],
                 defaults: Mapping[str, ValueNode]) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.defaults = defaults

    def selections(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType,
                   page: int | None, seen: frozenset[str]) -> int:
        """The cost of one item of `parent` with these selections; `page` is the size of the
        connection `parent` belongs to, when it is one."""
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, page, seen)
            elif isinstance(selection, InlineFragmentNode):
                condition = (
                    self.schema.get_type(selection.type_condition.name.value)
                    if selection.type_condition is not None else parent
                )
                total += self.selections(selection.selection_set, condition or parent, page, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:  # validation refuses both; stay total
                    continue
                condition = self.schema.get_type(fragment.type_condition.name.value)
                total += self.selections(fragment.selection_set, condition or parent, page, seen | {name})
        return total

    def field(self, node: FieldNode, parent: GraphQLNamedType, page: int | None, seen: frozenset[str]) -> int:
        name = node.name.value
        if name == "__typename":
            return 0
        if name.startswith("__"):
            return INTROSPECTION_WEIGHT
        definition = getattr(parent, "fields", {}).get(name)
        if definition is None:
            return 1  # validation refuses unknown fields; stay total
        own = FIELD_WEIGHTS.get(name, 1)
        if node.selection_set is None:
            return own
        field_type: GraphQLOutputType = definition.type
        inner = get_named_type(field_type)
        child_page = self.page_size(node) if any(a in definition.args for a in PAGE_ARGUMENTS) else None
        items = 1
        if _is_list(field_type):
            items = page if (page is not None and name in PAGE_LISTS) else DEFAULT_LIST_SIZE
        each = self.selections(node.selection_set, inner, child_page, seen)
        return own + items * each

    def page_size(self, node: FieldNode) -> int:
        """The page a connection field would return: the larger of `first` and `last` as sent,
        within 0..MAX_PAGE; DEFAULT_PAGE when neither is given."""
        sizes = [self.int_argument(node, name) for name in PAGE_ARGUMENTS]
        given = [size for size in sizes if size is not None]
        if not given:
            return DEFAULT_PAGE
        return min(max(max(given), 0), MAX_PAGE)

    def int_argument(self, node: FieldNode, name: str) -> int | None:
        argument = next((a for a in node.arguments or () if a.name.value == name), None)
        if argument is None:
            return None
        value: Any = argument.value
        if isinstance(value, VariableNode):
            variable = value.name.value
            if variable in self.variables:
                raw = self.variables[variable]
                return raw if isinstance(raw, int) and not isinstance(raw, bool) else None
            value = self.defaults.get(variable)
        return int(value.value) if isinstance(value, IntValueNode) else None


def _is_list(field_type: GraphQLOutputType) -> bool:
    inner = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    return is_list_type(inner) or isinstance(inner, GraphQLList)
