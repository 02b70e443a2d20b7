"""Imports point one way: schema roots → resolvers → schema building blocks → domain → models
(see `berth.schema` and `berth.resolvers`). Every import counts, function-local and
TYPE_CHECKING ones included: a hidden import is still a cycle."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

BERTH = Path(__file__).resolve().parent.parent / "berth"

SCHEMA_ROOTS = ("berth.schema.query", "berth.schema.mutation", "berth.schema.subscription", "berth.schema.build")
# The ASGI transport serves the schema over HTTP and WebSocket: it is strawberry's by nature;
# so is the in-process executor that runs the MCP tools' operations on the same schema.
STRAWBERRY_USERS = ("berth.schema", "berth.resolvers", "berth.graphql_app", "berth.graphql_audiences",
                    "berth.graphql_audience_members", "berth.graphql_http", "berth.graphql_executor")
GRAPHQL_LAYER = ("berth.schema", "berth.resolvers", "berth.graphql_app", "berth.graphql_audiences",
                 "berth.graphql_audience_members", "berth.graphql_http", "berth.graphql_executor")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import in the file, at any depth."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def within(module: str, prefixes: tuple[str, ...] | str) -> bool:
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def violations(root: Path = BERTH) -> list[str]:
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        importer = module_name(path, root)
        if within(importer, "berth.migrations"):
            continue
        for line, imported in imports_of(path, root):
            def bad(rule: str, at: int = line, target: str = imported, source: str = importer) -> None:
                found.append(f"{source}:{at} imports {target}: {rule}")

            if within(imported, ("strawberry", "graphql")) and not within(importer, STRAWBERRY_USERS):
                bad("only the GraphQL layer imports strawberry/graphql")
            if within(importer, "berth.domain") and within(
                imported, (*GRAPHQL_LAYER, "berth.http", "berth.runner", "berth.app", "berth.client")
            ):
                bad("the domain is below the GraphQL layer, HTTP and the runner")
            if within(importer, "berth.models") and within(imported, "berth") and not within(
                imported, ("berth.models", "berth.settings")
            ):
                bad("models import nothing above models")
            if within(importer, ("berth.runner", "berth.events", "berth.http", "berth.auth", "berth.mcp")) and within(
                imported, GRAPHQL_LAYER
            ):
                bad("only the app wires the GraphQL layer in")
            if within(importer, "berth.domain") and within(imported, "berth.mcp"):
                bad("the domain is below the GraphQL layer, HTTP and the runner")
            if within(importer, "berth.resolvers") and (
                imported == "berth.schema" or within(imported, SCHEMA_ROOTS)
            ):
                bad("resolvers never import the schema's root types")
            if (
                within(importer, "berth.schema")
                and not within(importer, SCHEMA_ROOTS)
                and importer != "berth.schema"
                and within(imported, "berth.resolvers")
            ):
                bad("the schema's building blocks never import resolvers")
    return found


def test_imports_point_one_way() -> None:
    assert violations() == []


def test_the_check_sees_function_local_and_relative_imports(tmp_path: Path) -> None:
    package = tmp_path / "berth"
    (package / "schema" / "types").mkdir(parents=True)
    (package / "models").mkdir()
    for init in (package, package / "schema", package / "schema" / "types", package / "models"):
        (init / "__init__.py").write_text("")
    (package / "schema" / "types" / "thing.py").write_text(
        "def field():\n    from berth.resolvers.things import resolve\n    return resolve()\n"
    )
    (package / "models" / "row.py").write_text("from ..events import broker\n")
    assert violations(package) == [
        "berth.models.row:1 imports berth.events: models import nothing above models",
        "berth.models.row:1 imports berth.events.broker: models import nothing above models",
        "berth.schema.types.thing:2 imports berth.resolvers.things: "
        "the schema's building blocks never import resolvers",
        "berth.schema.types.thing:2 imports berth.resolvers.things.resolve: "
        "the schema's building blocks never import resolvers",
    ]
