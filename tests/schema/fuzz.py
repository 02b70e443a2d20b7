"""What the schema fuzz sends and what it checks in each answer.

Operations come from hypothesis-graphql over the server's own printed SDL. Before one is
sent, `__typename` is added to every selection (so the answer names the concrete type of
each object, interfaces and unions included), and some id-like string arguments are
replaced by ids of rows that exist, so the operations reach data and not only NOT_FOUND.

The leak check walks the answer beside the document: any non-null value of a field whose
requirement (its own `@requiresScopes` ∪ that of the type it returns, as in the scope walk)
the credential does not hold is a leak.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLObjectType,
    InlineFragmentNode,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    get_named_type,
    is_object_type,
    parse,
    print_ast,
)
from graphql.language import Visitor, visit

from tests.schema.walk import ScopeMap

TYPENAME = "__typename"


class _AddTypename(Visitor):
    def enter_selection_set(self, node: SelectionSetNode, *_: Any) -> SelectionSetNode | None:
        if any(isinstance(s, FieldNode) and s.name.value == TYPENAME and s.alias is None for s in node.selections):
            return None
        extra = FieldNode(name=NameNode(value=TYPENAME), arguments=(), directives=())
        return SelectionSetNode(selections=(*node.selections, extra))


class _RealIds(Visitor):
    """Swaps about half of the string values given to `id`/`…Id` arguments for real ids,
    chosen by a hash of the generated value (the same operation always gets the same id)."""

    def __init__(self, ids: Sequence[str]) -> None:
        super().__init__()
        self.ids = ids

    def enter_argument(self, node: Any, *_: Any) -> Any:
        name = node.name.value
        if not (name == "id" or name.endswith("Id")) or not isinstance(node.value, StringValueNode):
            return None
        digest = hashlib.sha256(node.value.value.encode()).digest()
        if digest[0] % 2:
            return None
        chosen = self.ids[digest[1] % len(self.ids)]
        return type(node)(name=node.name, value=StringValueNode(value=chosen))


def prepared(text: str, real_ids: Sequence[str]) -> tuple[str, DocumentNode]:
    document = visit(visit(parse(text), _RealIds(real_ids)), _AddTypename())
    return print_ast(document), document


def _object_type(scopes: ScopeMap, name: str) -> GraphQLObjectType:
    return scopes.object_type(name)


def leaks(scopes: ScopeMap, document: DocumentNode, data: Any, held: frozenset[str]) -> list[str]:
    """Paths whose value came back although the credential lacks the field's scopes."""
    found: list[str] = []
    if not isinstance(data, dict):
        return found
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            root = {"query": "Query", "mutation": "Mutation", "subscription": "Subscription"}[
                definition.operation.value
            ]
            _walk(scopes, definition.selection_set, root, data, held, "", found)
    return found


def _walk(scopes: ScopeMap, selections: SelectionSetNode, type_name: str, data: dict[str, Any],
          held: frozenset[str], path: str, found: list[str]) -> None:
    parent = _object_type(scopes, type_name)
    for selection in selections.selections:
        if isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition.name.value if selection.type_condition else type_name
            if condition == type_name or condition in {i.name for i in parent.interfaces}:
                _walk(scopes, selection.selection_set, type_name, data, held, path, found)
            continue
        if not isinstance(selection, FieldNode) or selection.name.value.startswith("__"):
            continue
        key = selection.alias.value if selection.alias else selection.name.value
        if key not in data or data[key] is None:
            continue
        field = parent.fields[selection.name.value]
        returned = get_named_type(field.type).name
        required = scopes.own.get((type_name, selection.name.value), frozenset()) | scopes.type_scopes.get(
            returned, frozenset())
        where = f"{path}.{key}" if path else key
        if not required <= held:
            found.append(f"{where} (needs {', '.join(sorted(required - held))})")
            continue
        if selection.selection_set is not None:
            _children(scopes, selection.selection_set, data[key], held, where, found)


def _children(scopes: ScopeMap, selections: SelectionSetNode, value: Any, held: frozenset[str], path: str,
              found: list[str]) -> None:
    if isinstance(value, list):
        for index, item in enumerate(value):
            _children(scopes, selections, item, held, f"{path}[{index}]", found)
        return
    if not isinstance(value, dict):
        return
    concrete = value.get(TYPENAME)
    if isinstance(concrete, str) and concrete in scopes.schema.type_map and is_object_type(
            scopes.schema.type_map[concrete]):
        # A concrete type reached through an interface or a union carries its own requirement.
        own = scopes.type_scopes.get(concrete, frozenset())
        if not own <= held:
            found.append(f"{path} as {concrete} (needs {', '.join(sorted(own - held))})")
            return
        _walk(scopes, selections, concrete, value, held, path, found)
