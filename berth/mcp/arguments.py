"""A tool's arguments checked against its (flat) input schema, every problem named.

Only the shape is checked here (types, required, unknown names, bounds the schema
states); what the values mean is the API's to judge.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from berth.mcp.outcomes import problem

Schema = Mapping[str, Any]


def _fits(value: Any, spec: Schema) -> bool:
    kind = spec.get("type")
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return type(value) is int
    if kind == "boolean":
        return type(value) is bool
    if kind == "array":
        return isinstance(value, list) and all(_fits(item, spec.get("items", {})) for item in value)
    return True


def check(arguments: Mapping[str, Any] | None, properties: Mapping[str, Schema],
          required: tuple[str, ...]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(the arguments, problems): INVALID_INPUT with field ["arguments", name] for each."""
    given = dict(arguments or {})
    problems: list[dict[str, Any]] = []
    for name in sorted(set(given) - set(properties)):
        problems.append(problem("INVALID_INPUT", f"unknown argument `{name}`", ["arguments", name]))
    for name in required:
        if given.get(name) is None:
            problems.append(problem("INVALID_INPUT", f"`{name}` is required", ["arguments", name]))
    for name, spec in properties.items():
        value = given.get(name)
        if value is None:
            continue
        if not _fits(value, spec):
            problems.append(problem("INVALID_INPUT", f"`{name}` must be of type {spec.get('type')}",
                                    ["arguments", name]))
            continue
        if "enum" in spec.get("items", {}) and any(v not in spec["items"]["enum"] for v in value):
            problems.append(problem("INVALID_INPUT", f"`{name}` takes values of {spec['items']['enum']}",
                                    ["arguments", name]))
        low, high = spec.get("minimum"), spec.get("maximum")
        if type(value) is int and ((low is not None and value < low) or (high is not None and value > high)):
            problems.append(problem("INVALID_INPUT", f"`{name}` must be between {low} and {high}",
                                    ["arguments", name]))
    return given, problems
