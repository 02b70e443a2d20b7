"""What every resolver needs: the caller, id decoding, and domain errors as `UserError`s."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

import strawberry

from berth.auth.principal import Principal
from berth.domain.errors import InvalidInput, UserFacingError
from berth.schema.ids import decode
from berth.schema.types.common import UserError, UserErrorCode

T = TypeVar("T")

__all__ = ["decode", "principal_of", "run_mutation", "to_spec", "user_errors"]


def principal_of(info: strawberry.Info) -> Principal:
    # The scope guard already refused anonymous callers on every scoped field.
    return info.context.require_principal()  # type: ignore[no-any-return]


def user_errors(error: UserFacingError) -> list[UserError]:
    problems = error.errors if isinstance(error, InvalidInput) and error.errors else [error]
    return [UserError(code=UserErrorCode(p.code), message=p.message, field=p.field) for p in problems]


def to_spec(spec_type: type[T], graphql_input: Any, **overrides: Any) -> T:
    """Copy a Strawberry input's same-named (snake_case) fields into a domain spec dataclass."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(spec_type):  # type: ignore[arg-type]
        if field.name in overrides:
            values[field.name] = overrides[field.name]
        elif hasattr(graphql_input, field.name):
            value = getattr(graphql_input, field.name)
            values[field.name] = None if value is strawberry.UNSET else value
    return spec_type(**values)


async def run_mutation(payload: Callable[..., T], action: Callable[[], Any], key: str) -> T:
    """Run a domain action; its refusal becomes the payload's `errors`, nothing else changes."""
    try:
        result = await action()
    except UserFacingError as error:
        return payload(errors=user_errors(error))
    return payload(**{key: result, "errors": []})
