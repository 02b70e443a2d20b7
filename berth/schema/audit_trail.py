"""Every Mutation field audited, in the transaction of its change.

The wrapper sits outside the scope guard, so it sees every way a mutation ends:
- OK: the payload has no errors. The whole resolver ran inside one transaction opened
  here, and the entry is written in it just before the commit: the change and its entry
  commit together, or neither does. The domain's after-commit wake-ups (`post_commit`)
  are held until that commit.
- REFUSED: the scope guard refused (FORBIDDEN, UNAUTHENTICATED), another expected
  `CodedError`, or the payload carries `errors`. The transaction is rolled back (nothing
  half-stored) and the entry written on its own.
- FAILED: anything unexpected. Rolled back, and the entry written on its own.

Installed on the built schema like the scope guards, so a new Mutation field is audited
without anyone remembering to (its action name comes from `berth.domain.audit.ACTIONS`).
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Callable
from typing import Any

from graphql import GraphQLObjectType, GraphQLSchema, default_field_resolver
from tortoise.transactions import in_transaction

from berth.domain import audit
from berth.ids import from_global_id
from berth.models import post_commit
from berth.models.audit import AuditOutcome
from berth.models.sql import CONNECTION
from berth.schema.errors import CodedError

log = logging.getLogger(__name__)


class _Refused(Exception):
    """The payload carries errors: roll the transaction back, then record the refusal."""

    def __init__(self, payload: Any) -> None:
        super().__init__("refused")
        self.payload = payload


def remote_address(request: Any) -> str | None:
    client = getattr(request, "client", None)
    return getattr(client, "host", None)


def _errors_of(payload: Any) -> list[dict[str, Any]]:
    errors = getattr(payload, "errors", None) or []
    return [{"code": str(getattr(e.code, "value", e.code)), "message": e.message, "field": e.field}
            for e in errors]


def _target_of(payload: Any) -> tuple[str, int] | None:
    """The object a payload returns: its first field holding a Node (by its global id)."""
    if payload is None or not dataclasses.is_dataclass(payload):
        return None
    for item in dataclasses.fields(payload):
        value = getattr(payload, item.name, None)
        found = from_global_id(getattr(value, "id", None)) if value is not None else None
        if found is not None:
            return found
    return None


def _target_in(arguments: Any) -> tuple[str, int] | None:
    """What a refused request named: the first global id among its arguments."""
    if isinstance(arguments, dict):
        for value in arguments.values():
            found = _target_in(value)
            if found is not None:
                return found
    elif isinstance(arguments, list):
        for value in arguments:
            found = _target_in(value)
            if found is not None:
                return found
    elif isinstance(arguments, str):
        found = from_global_id(arguments)
        return found if found is not None and found[0] in audit.TARGET_TYPES else None
    return None


class MutationAudit:
    def __init__(self, field_name: str, info: Any, arguments: dict[str, Any]) -> None:
        context = info.context
        self.action = audit.action_of(field_name)
        self.actor = audit.actor_of(getattr(context, "principal", None))
        self.request_id = getattr(context, "request_id", None)
        self.remote = remote_address(getattr(context, "request", None))
        # Raw GraphQL arguments (camelCase names, as the caller wrote them), secrets redacted.
        self.asked = audit.redact_input(arguments)

    async def entry(self, outcome: AuditOutcome, target: tuple[str, int] | None,
                    **details: Any) -> audit.Entry:
        label, project_id = await audit.describe(*target) if target is not None else (None, None)
        return audit.Entry(
            action=self.action, outcome=outcome, actor=self.actor,
            target_type=target[0] if target else None, target_pk=target[1] if target else None,
            target_label=label, project_id=project_id, request_id=self.request_id,
            remote_address=self.remote, details={"input": self.asked, **details},
        )

    async def record_apart(self, outcome: AuditOutcome, arguments: dict[str, Any], **details: Any) -> None:
        """An entry for a change that did not happen, in its own transaction."""
        try:
            await audit.write(await self.entry(outcome, _target_in(arguments), **details))
        except Exception:  # the caller's answer matters more; the log says the entry is missing
            log.exception("audit entry for %s (%s) could not be written", self.action, outcome)


def _audited(field_name: str, inner: Callable[..., Any]) -> Callable[..., Any]:
    async def audited(source: Any, info: Any, **arguments: Any) -> Any:
        record = MutationAudit(field_name, info, arguments)
        token = post_commit.start()
        committed = False
        try:
            async with in_transaction(CONNECTION) as conn:
                result = inner(source, info, **arguments)
                if inspect.isawaitable(result):
                    result = await result
                if getattr(result, "errors", None):
                    raise _Refused(result)
                await audit.write(await record.entry(AuditOutcome.OK, _target_of(result)), conn)
            committed = True
        except _Refused as refused:
            await record.record_apart(AuditOutcome.REFUSED, arguments, errors=_errors_of(refused.payload))
            return refused.payload
        except CodedError as error:
            code = (error.extensions or {}).get("code")
            await record.record_apart(AuditOutcome.REFUSED, arguments, errors=[
                {"code": code, "message": error.message, "field": None}])
            raise
        except Exception as error:
            await record.record_apart(AuditOutcome.FAILED, arguments, error=type(error).__name__)
            raise
        finally:
            calls = post_commit.stop(token)
        if committed:
            await post_commit.run(calls)
        return result

    # The resolver underneath (the benchmark measures the trail's cost by swapping it back).
    audited.__wrapped__ = inner  # type: ignore[attr-defined]
    return audited


def install_audit_trail(schema: GraphQLSchema) -> list[str]:
    """Wrap every Mutation field (after the scope guards, so outside them); their names."""
    mutation = schema.mutation_type
    if not isinstance(mutation, GraphQLObjectType):
        return []
    for field_name, gql_field in mutation.fields.items():
        gql_field.resolve = _audited(field_name, gql_field.resolve or default_field_resolver)
    return list(mutation.fields)
