"""A tool's answer: structured content with the API's error codes, and a text for people.

Errors of both kinds keep the API's codes: a payload's `UserError`s (code, message,
field) and GraphQL errors (`extensions.code`, e.g. FORBIDDEN with its scopes,
NOT_FOUND, BAD_USER_INPUT). A FORBIDDEN on a nested nullable edge costs only that edge
(CONTRACT §2): it is a warning unless the tool needs that field.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from berth.mcp.executor import ExecutorFailure


@dataclass
class Outcome:
    """What a tool returns: `structured` always has `ok` and `errors` (see ERROR_SCHEMA)."""

    structured: dict[str, Any]
    summary: str
    is_error: bool = False
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def content(self) -> dict[str, Any]:
        body = {**self.structured, "ok": not self.is_error}
        body.setdefault("errors", [])
        if self.warnings:
            body["warnings"] = self.warnings
        return body


def problem(code: str, message: str, field: Sequence[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "field": list(field) if field is not None else None, **extra}


def failed(errors: list[dict[str, Any]], summary: str | None = None, **structured: Any) -> Outcome:
    first = errors[0] if errors else problem("INTERNAL_SERVER_ERROR", "unknown error")
    text = summary or f"Refused: {first['code']}: {first['message']}"
    return Outcome({**structured, "errors": errors}, text, is_error=True)


def of_failure(failure: ExecutorFailure) -> Outcome:
    return failed([problem(failure.code, failure.message)])


def _graphql_problem(error: Mapping[str, Any]) -> dict[str, Any]:
    extensions = error.get("extensions") or {}
    field = extensions.get("field")
    extra = {k: v for k, v in extensions.items() if k in ("requiredScopes", "missingScopes", "requestId")}
    found = problem(str(extensions.get("code") or "GRAPHQL_ERROR"), str(error.get("message") or "error"),
                    [str(p) for p in field] if isinstance(field, list) else None, **extra)
    if error.get("path"):
        found["path"] = [str(p) for p in error["path"]]
    return found


def _field_path(error: Mapping[str, Any]) -> str:
    return ".".join(str(part) for part in error.get("path") or [] if not isinstance(part, int))


def split_errors(
    body: Mapping[str, Any], required: Collection[str] = ()
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(errors, warnings) of a GraphQL response: nested FORBIDDEN errors are warnings
    unless their field path (list indexes left out) is in `required`."""
    errors: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    for error in body.get("errors") or []:
        if not isinstance(error, Mapping):
            continue
        code = (error.get("extensions") or {}).get("code")
        nested = len(error.get("path") or []) > 1
        if code == "FORBIDDEN" and nested and _field_path(error) not in required:
            warnings.append(_graphql_problem(error))
        else:
            errors.append(_graphql_problem(error))
    return errors, warnings


def user_errors(payload: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """A mutation payload's `errors: [UserError!]!`, as they came."""
    return [problem(str(e.get("code")), str(e.get("message")), e.get("field"))
            for e in (payload or {}).get("errors") or []]


def name_of(deployment: Mapping[str, Any] | None) -> str:
    """`project/env/service #N` (a part the credential may not read shows as `?`)."""
    if not deployment:
        return "deployment"

    def part(key: str) -> str:
        value = deployment.get(key)
        return str(value.get("name")) if isinstance(value, Mapping) and value.get("name") else "?"

    return f"{part('project')}/{part('environment')}/{part('service')} #{deployment.get('number', '?')}"


def state_of(deployment: Mapping[str, Any]) -> str:
    status = str(deployment.get("status") or "?")
    conclusion = deployment.get("conclusion")
    state = f"{status}/{conclusion}" if conclusion else status
    if deployment.get("queuePosition") is not None:
        state += f" (queue position {deployment['queuePosition']})"
    approval = deployment.get("approval")
    if isinstance(approval, Mapping) and approval.get("state") not in (None, "NOT_REQUIRED"):
        state += f", approval {approval['state']}"
    return state


def describe(deployment: Mapping[str, Any]) -> str:
    """One line: name, state, id (the id is what tools take)."""
    return f"{name_of(deployment)}: {state_of(deployment)} [id {deployment.get('id')}]"


def with_json(summary: str, structured: Mapping[str, Any]) -> str:
    return summary + "\n\n" + json.dumps(structured, indent=2, default=str)
