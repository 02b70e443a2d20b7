"""Errors a caller can act on, with the input field they are about (CONTRACT §2, `UserError`).

The domain raises these; the GraphQL layer turns them into the payload's `errors`.
Anything else that escapes a domain function is an internal error and gets masked.
Messages never carry secret values: they name the field and the rule, not the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

FieldPath = list[str]


class UserErrorCode(StrEnum):
    """The GraphQL `UserErrorCode` enum (registered with Strawberry by `berth.schema.types.common`)."""

    INVALID_INPUT = "INVALID_INPUT"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    NOT_CANCELABLE = "NOT_CANCELABLE"
    NO_ROLLBACK_TARGET = "NO_ROLLBACK_TARGET"
    QUEUE_FULL = "QUEUE_FULL"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    # approveDeployment by the principal who started the deployment (protected environments).
    SELF_APPROVAL = "SELF_APPROVAL"


class UserFacingError(Exception):
    """One problem the caller caused: a code, a message and the offending input path."""

    def __init__(self, code: str, message: str, field: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.code: str = str(code)
        self.message = message
        self.field: FieldPath | None = list(field) if field is not None else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code}, {self.message!r}, field={self.field!r})"


class InvalidInput(UserFacingError):
    """Every validation problem found in one request, each with its own field path.

    Validation collects all problems before raising, so a client fixes its input in one
    round trip instead of one error at a time.
    """

    def __init__(self, errors: Sequence[UserFacingError]) -> None:
        if not errors:
            raise ValueError("InvalidInput needs at least one error")
        first = errors[0]
        summary = first.message if len(errors) == 1 else f"{len(errors)} invalid input fields"
        super().__init__(UserErrorCode.INVALID_INPUT, summary, first.field)
        self.errors: list[UserFacingError] = list(errors)


class NotPermitted(UserFacingError):
    """The credential may not do this at all (e.g. a project-limited credential creating a server).

    `UserErrorCode` has no FORBIDDEN member, so this reports INVALID_INPUT on the whole input
    with a message that says why; being its own class, the GraphQL layer may instead turn it
    into a FORBIDDEN field error if it prefers.
    """

    def __init__(self, message: str, field: Sequence[str] | None = ("input",)) -> None:
        super().__init__(UserErrorCode.INVALID_INPUT, message, field)


def not_found(what: str, field: Sequence[str]) -> UserFacingError:
    """NOT_FOUND for a missing object and for one the credential may not see alike,
    so a project-limited credential learns nothing about other projects."""
    return UserFacingError(UserErrorCode.NOT_FOUND, f"{what} not found", field)


class ErrorList:
    """Collects validation problems; `raise_if_any()` raises them all as one InvalidInput."""

    def __init__(self) -> None:
        self.errors: list[UserFacingError] = []

    def add(self, field: Sequence[str], message: str) -> None:
        self.errors.append(UserFacingError(UserErrorCode.INVALID_INPUT, message, field))

    def extend(self, errors: Sequence[UserFacingError]) -> None:
        self.errors.extend(errors)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)
