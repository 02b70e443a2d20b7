"""What every resolver gets: the caller, a request id, and per-request loaders.

Over HTTP a context serves one request. Over WebSocket Strawberry makes one context per
connection and runs every operation of it with that context, each in its own task; what
belongs to one operation — its request id, its loaders (cached rows) and its scope
decisions — therefore lives in a context variable that each operation sets when it
begins (`begin_operation`, called by the masking extension's operation hook), so that no
operation sees another's cached rows or reports another's request id.
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from berth.auth.principal import Principal
from berth.schema.errors import CodedError, forbidden, unauthenticated
from berth.schema.loaders import Loaders


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


@dataclass
class Operation:
    """The state of one operation (one HTTP request, or one operation on a WebSocket)."""

    owner: Context
    request_id: str = field(default_factory=new_request_id)
    loaders: Loaders = field(default_factory=Loaders)
    # Scope decisions, made once per required-scope set per operation (not per row).
    decisions: dict[frozenset[str], CodedError | None] = field(default_factory=dict)


_current: ContextVar[Operation | None] = ContextVar("berth_operation", default=None)


@dataclass(eq=False)
class Context:
    request: Any
    response: Any = None
    principal: Principal | None = None
    connection_params: dict[str, Any] | None = None
    # Scopes each object type declares, for `node(id:)`, whose interface type has none.
    type_scopes: dict[str, frozenset[str]] = field(default_factory=dict)
    # Used until an operation begins (and by callers that never begin one).
    _initial: Operation | None = field(default=None, repr=False)

    @property
    def operation(self) -> Operation:
        current = _current.get()
        if current is not None and current.owner is self:
            return current
        if self._initial is None:
            self._initial = Operation(self)
        return self._initial

    def begin_operation(self) -> None:
        """Fresh state for the operation now starting in this task (and the tasks it spawns)."""
        _current.set(Operation(self))

    @property
    def request_id(self) -> str:
        return self.operation.request_id

    @property
    def loaders(self) -> Loaders:
        return self.operation.loaders

    def denial(self, required: frozenset[str]) -> CodedError | None:
        decisions = self.operation.decisions
        if required in decisions:
            return decisions[required]
        decision: CodedError | None
        if self.principal is None:
            decision = unauthenticated()
        else:
            missing = self.principal.missing(required)
            decision = forbidden(sorted(required), missing) if missing else None
        decisions[required] = decision
        return decision

    def fresh_loaders(self) -> None:
        """Subscriptions: each event is a new read, not a cached one."""
        operation = self.operation
        operation.loaders = Loaders()
        operation.decisions.clear()

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise unauthenticated()
        return self.principal
