"""Running one operation through the executor, and what every tool needs around it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from berth.mcp.executor import Executor
from berth.mcp.outcomes import Outcome, failed, problem, split_errors


async def execute(executor: Executor, document: str, variables: dict[str, Any],
                  required: tuple[str, ...] = ()) -> tuple[dict[str, Any], list[dict[str, Any]],
                                                             list[dict[str, Any]]]:
    """(data, errors, warnings) of one operation; raises ExecutorFailure without a response."""
    body = await executor(document, variables)
    errors, warnings = split_errors(body, required)
    data = body.get("data")
    return (data if isinstance(data, dict) else {}), errors, warnings


def input_of(args: Mapping[str, Any], *names: str) -> dict[str, Any]:
    return {name: args[name] for name in names if args.get(name) is not None}


def not_found(what: str, field: str) -> Outcome:
    # The API answers null for a missing object and for one the credential may not see alike.
    return failed([problem("NOT_FOUND", f"{what} not found", ["arguments", field])])
