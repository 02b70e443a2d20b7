"""The seam every tool goes through: a GraphQL operation in, the GraphQL response out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

# (document, variables) → the response body as GraphQL-over-HTTP has it: `data` and/or
# `errors` (each with `message`, `path`, `extensions.code`).
Executor = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


class ExecutorFailure(Exception):
    """No GraphQL response at all: the credential was refused, or the server is unreachable.

    `code` follows the API's codes where there is one (UNAUTHENTICATED); otherwise
    SERVER_UNAVAILABLE."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
