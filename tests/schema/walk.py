"""The `@requiresScopes` walk: what the printed schema declares, turned into operations.

Nothing here is a hand-written list of scoped fields. The server's own SDL
(`build_schema().as_str()`) is parsed with graphql-core and the directive is read from
the AST of every type and field. A field requires its own scopes ∪ those of the type it
returns (CONTRACT §2); `node(id:)` requires those of the concrete type it returns.

For every scoped *edge* (a field with a non-empty requirement) the walk finds routes
from the roots to the type that owns it: each root field, `node(id:)` for each Node type,
each subscription, each mutation payload. A route is a list of steps; the operation text
selects along it, with `__typename`/`id` beside every step so that "the other fields still
resolve" can be checked.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from graphql import (
    GraphQLObjectType,
    GraphQLSchema,
    build_ast_schema,
    get_named_type,
    is_leaf_type,
    is_object_type,
    is_required_argument,
    parse,
)
from graphql.language import ListValueNode, StringValueNode

from berth.schema import build_schema

DIRECTIVE = "requiresScopes"
ROOTS = ("Query", "Mutation", "Subscription")


def _directive_scopes(node: object) -> frozenset[str]:
    scopes: set[str] = set()
    for directive in getattr(node, "directives", None) or ():
        if directive.name.value != DIRECTIVE:
            continue
        for argument in directive.arguments:
            if argument.name.value == "scopes":
                value = argument.value
                assert isinstance(value, ListValueNode), "scopes must be a list literal"
                for item in value.values:
                    assert isinstance(item, StringValueNode)
                    scopes.add(item.value)
    return frozenset(scopes)


@dataclass(frozen=True)
class Step:
    parent: str
    field: str
    # node(id:): the concrete type asked for (an inline fragment on it).
    on: str | None = None

    @property
    def label(self) -> str:
        return f"{self.parent}.{self.field}" + (f"<{self.on}>" if self.on else "")


Route = tuple[Step, ...]


class ScopeMap:
    """The directives of one SDL, and the requirement of each field."""

    def __init__(self, sdl: str) -> None:
        self.schema: GraphQLSchema = build_ast_schema(parse(sdl))
        self.type_scopes: dict[str, frozenset[str]] = {}
        self.own: dict[tuple[str, str], frozenset[str]] = {}
        for name, gql_type in self.schema.type_map.items():
            if name.startswith("__") or not isinstance(gql_type, GraphQLObjectType):
                continue
            declared = _directive_scopes(gql_type.ast_node)
            if declared:
                self.type_scopes[name] = declared
            for field_name, gql_field in gql_type.fields.items():
                own = _directive_scopes(gql_field.ast_node)
                if own:
                    self.own[(name, field_name)] = own

    def object_type(self, name: str) -> GraphQLObjectType:
        gql_type = self.schema.type_map[name]
        assert isinstance(gql_type, GraphQLObjectType)
        return gql_type

    def returns(self, step: Step) -> str:
        if step.on:
            return step.on
        return get_named_type(self.object_type(step.parent).fields[step.field].type).name

    def required(self, step: Step) -> frozenset[str]:
        if step.on:
            return self.type_scopes.get(step.on, frozenset())
        own = self.own.get((step.parent, step.field), frozenset())
        return own | self.type_scopes.get(self.returns(step), frozenset())

    def node_types(self) -> list[str]:
        return sorted(
            name
            for name, t in self.schema.type_map.items()
            if is_object_type(t) and any(i.name == "Node" for i in t.interfaces)  # type: ignore[attr-defined]
        )

    def has_id(self, type_name: str) -> bool:
        t = self.schema.type_map[type_name]
        return is_object_type(t) and "id" in t.fields  # type: ignore[attr-defined]

    def is_object(self, type_name: str) -> bool:
        return is_object_type(self.schema.type_map[type_name])

    def required_arguments(self, step: Step) -> list[str]:
        field = self.object_type(step.parent).fields[step.field]
        return [name for name, arg in field.args.items() if is_required_argument(arg)]

    def argument_type(self, step: Step, name: str) -> str:
        return str(self.object_type(step.parent).fields[step.field].args[name].type)

    # -- the graph ------------------------------------------------------------

    def entries(self) -> list[Step]:
        """Where a route starts: every root field (node(id:) once per Node type)."""
        found: list[Step] = []
        for root in ROOTS:
            for field_name in self.object_type(root).fields:
                if root == "Query" and field_name == "node":
                    found += [Step("Query", "node", on=name) for name in self.node_types()]
                else:
                    found.append(Step(root, field_name))
        return found

    def edges_from(self, type_name: str) -> Iterator[Step]:
        """Fields of an object type that lead to another object type (no arguments needed)."""
        if not self.is_object(type_name) or type_name in ROOTS:
            return
        for field_name, field in self.object_type(type_name).fields.items():
            step = Step(type_name, field_name)
            if self.is_object(get_named_type(field.type).name) and not self.required_arguments(step):
                yield step

    def scoped_edges(self) -> list[Step]:
        """Every field with a requirement, plus node(id:) for each scoped Node type."""
        edges = [s for s in self.entries() if self.required(s)]
        for name in sorted(self.schema.type_map):
            if name in ROOTS or name.startswith("__") or not self.is_object(name):
                continue
            for field_name in self.object_type(name).fields:
                step = Step(name, field_name)
                if self.required(step):
                    edges.append(step)
        return edges

    def path(self, entry: Step, target: str, avoid: str | None) -> Route | None:
        """Shortest route from `entry` to an object of type `target`, using no step that
        requires `avoid`. Mutation payloads are one step deep: they carry no data beyond."""
        if avoid is not None and avoid in self.required(entry):
            return None
        start = self.returns(entry)
        if start == target:
            return (entry,)
        if entry.parent == "Mutation":
            return None
        queue: deque[tuple[str, Route]] = deque([(start, (entry,))])
        seen = {start}
        while queue:
            type_name, route = queue.popleft()
            for step in self.edges_from(type_name):
                if avoid is not None and avoid in self.required(step):
                    continue
                nxt = self.returns(step)
                if nxt == target:
                    return (*route, step)
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append((nxt, (*route, step)))
        return None

    def routes(self, edge: Step, avoid: str | None) -> list[Route]:
        """Every entry's shortest route ending in `edge` (avoiding `avoid` before it)."""
        if edge.parent in ROOTS:
            return [(edge,)]
        found: list[Route] = []
        for entry in self.entries():
            route = self.path(entry, edge.parent, avoid)
            if route is not None:
                found.append((*route, edge))
        return found


@cache
def scope_map() -> ScopeMap:
    return ScopeMap(build_schema().as_str())


# ---------------------------------------------------------------- cases


@dataclass(frozen=True)
class Denial:
    """A credential without `dropped` must get FORBIDDEN at `route[at]`."""

    route: Route
    dropped: str
    at: int


@dataclass(frozen=True)
class Grant:
    """A credential holding exactly `scopes` (the route's requirements) passes every check."""

    route: Route
    scopes: frozenset[str]


@dataclass(frozen=True)
class EdgeCases:
    edge: Step
    denials: tuple[Denial, ...]
    grants: tuple[Grant, ...]
    # Scopes of the edge that every route already requires before reaching it: a missing
    # one costs an earlier edge (checked by the denials at that edge).
    implied: frozenset[str]


def cases_for(edge: Step, scopes: ScopeMap | None = None) -> EdgeCases:
    m = scopes or scope_map()
    denials: list[Denial] = []
    implied: set[str] = set()
    for scope in sorted(m.required(edge)):
        routes = m.routes(edge, avoid=scope)
        if routes:
            denials += [Denial(route, scope, len(route) - 1) for route in routes]
        else:
            implied.add(scope)
            # Still prove where it is refused: at the first step of the shortest route that needs it.
            shortest = min(m.routes(edge, avoid=None), key=len)
            first = next(i for i, step in enumerate(shortest) if scope in m.required(step))
            denials.append(Denial(shortest, scope, first))
    grants = tuple(
        Grant(route, frozenset().union(*(m.required(step) for step in route)))
        for route in m.routes(edge, avoid=None)
    )
    return EdgeCases(edge, tuple(denials), grants, frozenset(implied))


def all_edges() -> list[Step]:
    return scope_map().scoped_edges()


# ---------------------------------------------------------------- operation text


# Connections this deep in a route are asked for SHORT_PAGE items.
SHORT_PAGE_BELOW = 3
SHORT_PAGE = 1


def render(route: Route, arguments: dict[Step, dict[str, object]], scopes: ScopeMap | None = None) -> tuple[str, dict[str, object]]:
    """The operation for a route and its variables. `arguments` gives the values of the
    required arguments of root steps (by step)."""
    m = scopes or scope_map()
    root = route[0]
    variables: dict[str, object] = {}
    definitions: list[str] = []

    def argument_text(step: Step) -> str:
        values = arguments.get(step, {})
        missing = [name for name in m.required_arguments(step) if name not in values]
        assert not missing, f"no value for required argument(s) {missing} of {step.label}"
        parts = []
        for name, value in values.items():
            variable = f"v{len(variables)}"
            variables[variable] = value
            definitions.append(f"${variable}: {m.argument_type(step, name)}")
            parts.append(f"{name}: ${variable}")
        return f"({', '.join(parts)})" if parts else ""

    def leaf_selection(type_name: str) -> str:
        if not m.is_object(type_name):
            # Node (interface) or a leaf: leaves need no selection.
            return "" if is_leaf_type(m.schema.type_map[type_name]) else "{ __typename id }"
        return "{ __typename" + (" id" if m.has_id(type_name) else "") + " }"

    def select(index: int) -> str:
        step = route[index]
        text = step.field + (argument_text(step) if step.parent in ROOTS else "")
        if index >= SHORT_PAGE_BELOW and "first" in m.object_type(step.parent).fields[step.field].args:
            # Deep routes (projects > services > gitHooks > deliveries > …) multiply list sizes;
            # a short page keeps them within the server's query cost limit.
            text += f"(first: {SHORT_PAGE})"
        returned = m.returns(step)
        if index == len(route) - 1:
            inner = leaf_selection(returned)
            if step.parent == "Mutation":
                inner = inner[:-1] + "errors { code } }"
            if step.on:
                inner = "{ __typename ... on " + step.on + " " + leaf_selection(step.on) + " }"
            return f"{text} {inner}".strip()
        siblings = "__typename" + (" id" if m.has_id(returned) else "")
        if root.parent == "Mutation" and index == 0:
            siblings += " errors { code }"
        if root.parent == "Subscription" and index == 0 and "seq" in m.object_type(returned).fields:
            siblings += " seq"
        nested = select(index + 1)
        if step.on:
            return f"{text} {{ __typename ... on {step.on} {{ {siblings} {nested} }} }}"
        return f"{text} {{ {siblings} {nested} }}"

    body = select(0)
    if root.parent == "Query":
        body = "viewer { subject } " + body
    operation = {"Query": "query", "Mutation": "mutation", "Subscription": "subscription"}[root.parent]
    header = f"{operation} Walk" + (f"({', '.join(definitions)})" if definitions else "")
    return f"{header} {{ {body} }}", variables


def field_path(route: Route, upto: int) -> list[str]:
    """The response path of `route[upto]`, list indices left out."""
    return [step.field for step in route[: upto + 1]]
