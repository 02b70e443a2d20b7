"""What every resolver gets: the caller, a request id, and per-request loaders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from berth.auth.principal import Principal
from berth.schema.errors import CodedError, forbidden, unauthenticated
from berth.schema.loaders import Loaders


@dataclass
class Context:
    request: Any
    response: Any = None
    principal: Principal | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    connection_params: dict[str, Any] | None = None
    loaders: Loaders = field(default_factory=Loaders)
    # Scopes each object type declares, for `node(id:)`, whose interface type has none.
    type_scopes: dict[str, frozenset[str]] = field(default_factory=dict)
    # Scope decisions, made once per required-scope set per request (not per row).
    _decisions: dict[frozenset[str], CodedError | None] = field(default_factory=dict)

    def denial(self, required: frozenset[str]) -> CodedError | None:
        if required in self._decisions:
            return self._decisions[required]
        decision: CodedError | None
        if self.principal is None:
            decision = unauthenticated()
        else:
            missing = self.principal.missing(required)
            decision = forbidden(sorted(required), missing) if missing else None
        self._decisions[required] = decision
        return decision

    def fresh_loaders(self) -> None:
        """Subscriptions: each event is a new read, not a cached one."""
        self.loaders = Loaders()
        self._decisions.clear()

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise unauthenticated()
        return self.principal
