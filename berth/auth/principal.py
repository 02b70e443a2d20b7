"""Who is calling: one immutable value built from a verified credential.

Resolvers, the runner and the audit record read only this; none of them looks
at raw claims or token rows, so how a credential was obtained stays in
`jwt_tokens` / `api_tokens`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from berth.auth.scopes import effective_scopes
from berth.models.enums import DeploymentTrigger, Role, TokenKind

# IdempotencyKey.subject is a CharField(255); an issuer URL plus a long `sub`
# could exceed it, so such subjects are stored as a digest instead.
_SUBJECT_MAX = 255


@dataclass(frozen=True)
class Principal:
    subject: str
    email: str | None
    role: Role | None
    token_kind: TokenKind
    token_name: str | None
    # Effective scopes (role ∩ credential); build through make_principal().
    scopes: frozenset[str]
    # Empty means every project.
    project_ids: frozenset[int]
    token_id: int | None = None
    issuer: str | None = None
    expires_at: datetime | None = None

    def has(self, scopes: str | Iterable[str]) -> bool:
        return not self.missing(scopes)

    def missing(self, scopes: str | Iterable[str]) -> list[str]:
        """Required scopes this principal lacks, sorted (for `extensions.missingScopes`)."""
        wanted = {scopes} if isinstance(scopes, str) else set(scopes)
        return sorted(wanted - self.scopes)

    @property
    def is_project_limited(self) -> bool:
        return bool(self.project_ids)

    def may_see_project(self, project_id: int) -> bool:
        return not self.project_ids or project_id in self.project_ids

    @property
    def idempotency_subject(self) -> str:
        """Who idempotency keys are unique for (CONTRACT §3): issuer + subject, or the token."""
        if self.token_kind is TokenKind.API_TOKEN:
            return f"token:{self.token_id}"
        value = f"jwt:{self.issuer or ''} {self.subject}"
        if len(value) > _SUBJECT_MAX:
            value = "jwt:sha256:" + hashlib.sha256(value.encode()).hexdigest()
        return value

    @property
    def trigger(self) -> DeploymentTrigger:
        """Taken from the credential, never from the request (CONTRACT §3)."""
        if self.token_kind is TokenKind.JWT:
            return DeploymentTrigger.USER
        if self.token_kind is TokenKind.WEBHOOK:
            return DeploymentTrigger.WEBHOOK
        if self.role is Role.AGENT:
            return DeploymentTrigger.AGENT
        return DeploymentTrigger.API

    def actor(self) -> dict[str, Any]:
        """The `Deployment.actor` JSON / `Actor` type for this principal."""
        actor: dict[str, Any] = {
            "subject": self.subject,
            "email": self.email,
            "role": self.role.value if self.role else None,
            "tokenKind": self.token_kind.value,
            "tokenName": self.token_name,
        }
        if self.token_kind is TokenKind.WEBHOOK:
            # A git hook's pusher name and email are what the provider's payload says, not a
            # verified identity: the record says so.
            actor["verified"] = False
        return actor


_MAX_ID = 2**63 - 1  # ids are BIGINT primary keys


def parse_project_id(raw: object) -> int | None:
    """A positive project id from an int or a string of ASCII digits; None when it is not one."""
    if isinstance(raw, bool):  # bool is an int subclass; True is not project 1
        return None
    if isinstance(raw, str):
        text = raw.strip()
        # isascii: str.isdigit() also accepts "²", which int() refuses.
        if not (text.isascii() and text.isdigit() and len(text) <= 19):
            return None
        raw = int(text)
    if isinstance(raw, int) and 0 < raw <= _MAX_ID:
        return raw
    return None


def make_principal(
    *,
    subject: str,
    email: str | None,
    role: Role | None,
    token_kind: TokenKind,
    credential_scopes: Iterable[str],
    project_ids: Iterable[int] = (),
    token_name: str | None = None,
    token_id: int | None = None,
    issuer: str | None = None,
    expires_at: datetime | None = None,
) -> Principal:
    """Build a Principal whose scopes are the role's scopes ∩ the credential's scopes."""
    return Principal(
        subject=subject,
        email=email,
        role=role,
        token_kind=token_kind,
        token_name=token_name,
        scopes=effective_scopes(role, credential_scopes),
        project_ids=frozenset(project_ids),
        token_id=token_id,
        issuer=issuer,
        expires_at=expires_at,
    )
