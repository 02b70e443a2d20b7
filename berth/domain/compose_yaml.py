"""Reading compose YAML with bounds on what aliases and nesting can make of it.

A small document can describe an enormous one: an alias (or a `<<` merge key) repeats
its anchor's whole subtree wherever it is used, and anchors can use each other
(the "billion laughs" document). PyYAML itself shares the repeated objects, but every
walk over the result — the privilege policy's, a JSON encoder's, `yaml.safe_dump` of
the override file, compose's own — expands them. So the node graph is measured as it
would be expanded, before anything is constructed from it, and refused beyond the bounds.

The loader is PyYAML's safe one: YAML 1.1 scalars (`yes`/`on` are booleans), merge keys,
no custom tags — the reading compose v1 does too.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

# An expanded document this large is no compose file anyone writes by hand (256 KiB of
# text without aliases is at most ~130k nodes).
MAX_NODES = 200_000
MAX_DEPTH = 64


class ComposeYamlError(ValueError):
    """The content is not YAML, or expands beyond the bounds; the message names the problem."""


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _measure(root: Node) -> None:
    """Expanded node count and depth of the graph, each shared node measured once.

    Iterative (no recursion limit to hit) with an explicit stack; a node met again while
    it is still open is an alias to one of its own ancestors: a document without end.
    """
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            children = _children(node)
            size = 1 + sum(sizes[id(child)] for child in children)
            depth = 1 + max((depths[id(child)] for child in children), default=0)
            open_nodes.discard(key)
            if size > MAX_NODES:
                raise ComposeYamlError(f"expands to more than {MAX_NODES} YAML nodes (through aliases)")
            if depth > MAX_DEPTH:
                raise ComposeYamlError(f"nests deeper than {MAX_DEPTH} levels")
            sizes[key], depths[key] = size, depth
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise ComposeYamlError("has an alias that refers to its own anchor (a recursive document)")
        open_nodes.add(key)
        stack.append((node, True))
        if len(open_nodes) > MAX_DEPTH:
            raise ComposeYamlError(f"nests deeper than {MAX_DEPTH} levels")
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)


def load_compose_yaml(content: str) -> Any:
    """The document, or ComposeYamlError; never constructs a document beyond the bounds."""
    loader = yaml.SafeLoader(content)
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise ComposeYamlError(f"is not valid YAML{where}") from None
        except RecursionError:
            # The composer recurses per nesting level: a deep document ends here.
            raise ComposeYamlError(f"nests deeper than {MAX_DEPTH} levels") from None
        if node is None:
            return None
        _measure(node)
        try:
            return loader.construct_document(node)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise ComposeYamlError(f"is not valid YAML{where}") from None
    finally:
        loader.dispose()
