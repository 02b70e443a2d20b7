"""GraphQL errors (CONTRACT §2) as one-line client errors."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from berth.client.errors import AuthProblem, ClientError, InputProblem, ServerProblem

LOGIN_HINT = "set BERTH_TOKEN or run `berth login`"


def path_of(error: Mapping[str, Any]) -> str:
    return ".".join(str(part) for part in error.get("path") or [])


def _field_path(error: Mapping[str, Any]) -> str:
    """The error's path without list indexes: `deployments.nodes.3.logs` → `deployments.nodes.logs`."""
    return ".".join(str(part) for part in error.get("path") or [] if not isinstance(part, int))


def code_of(error: Mapping[str, Any]) -> str | None:
    extensions = error.get("extensions") or {}
    return str(extensions["code"]) if extensions.get("code") else None


def to_client_error(error: Mapping[str, Any], url: str) -> ClientError:
    """The first thing to tell the user about one GraphQL error."""
    code = code_of(error)
    extensions = error.get("extensions") or {}
    message = str(error.get("message") or "unknown error").strip()
    where = path_of(error) or "the request"
    if code == "FORBIDDEN":
        missing = extensions.get("missingScopes") or extensions.get("requiredScopes") or []
        scopes = ", ".join(str(scope) for scope in missing) or "?"
        return AuthProblem(f"permission denied: {where} needs scope {scopes}, which this credential lacks")
    if code == "UNAUTHENTICATED":
        return AuthProblem(f"not authenticated at {url}: {message} ({LOGIN_HINT})")
    if code == "NOT_FOUND":
        return InputProblem(message)
    if code == "INTERNAL_SERVER_ERROR":
        request_id = extensions.get("requestId") or extensions.get("request_id")
        suffix = f" (request {request_id})" if request_id else ""
        return ServerProblem(f"server error at {url} in {where}{suffix}")
    if code in ("BAD_USER_INPUT", "INVALID_INPUT", "GRAPHQL_VALIDATION_FAILED", None) and not error.get(
        "path"
    ):
        # Refused before execution: the query does not fit this server's schema or limits.
        return ServerProblem(f"the server at {url} refused the request: {message}")
    return InputProblem(f"{where}: {message}" if error.get("path") else message)


def raise_for_errors(errors: Sequence[Mapping[str, Any]], url: str, required: Collection[str] = ()) -> None:
    """Raise for the errors that leave the result unusable.

    An error below a root field on a nullable edge into a type with other scopes (e.g.
    `deployment.service` without service:read) costs that edge only (CONTRACT §2): the
    rest of the record is still good, so a nested FORBIDDEN is tolerated — unless its
    path is one of `required` (e.g. `deployment.logs` for `berth logs`), without which
    the command has nothing to show.
    """
    for error in errors:
        nested = len(error.get("path") or []) > 1
        if code_of(error) == "FORBIDDEN" and nested and _field_path(error) not in required:
            continue
        raise to_client_error(error, url)


def raise_for_user_errors(
    errors: Sequence[Mapping[str, Any]], flags: Mapping[str, str] | None = None
) -> None:
    """A payload's `errors: [UserError!]!` as one line, naming the CLI flag where there is one."""
    if not errors:
        return
    parts = []
    for error in errors:
        field = ".".join(str(part) for part in error.get("field") or [])
        name = (flags or {}).get(field) or _nearest_flag(field, flags or {}) or field
        message = str(error.get("message") or error.get("code") or "invalid")
        parts.append(f"{name}: {message}" if name else message)
    raise InputProblem("; ".join(parts))


def _nearest_flag(field: str, flags: Mapping[str, str]) -> str | None:
    """`input.source.ports.1` → `--port (#2)`; `input.healthCheck.port` → the health check's flag."""
    parent, _, last = field.rpartition(".")
    if last.isdigit() and parent in flags:
        return f"{flags[parent]} (#{int(last) + 1})"
    while "." in field:
        field = field.rsplit(".", 1)[0]
        if field in flags:
            return flags[field]
    return None
