"""API tokens for agents and scripts (CONTRACT §2).

The secret is `berth_pat_` + 32 CSPRNG bytes (base64url). Only its keyed hash
(HMAC-SHA256 with a key derived from BERTH_SECRET_KEY) is stored, so a copy of
the database is not a copy of the credentials; `prefix` keeps the first few
characters, which is enough to recognise a token in a list and useless to guess it.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q

from berth.auth.errors import InvalidCredential, TokenGrantError
from berth.auth.principal import Principal, make_principal, parse_project_id
from berth.auth.scopes import ROLE_SCOPES, grant_problems, may_manage_token, parse_role
from berth.crypto import get_keyring
from berth.models.api_token import ApiToken
from berth.models.enums import Role, TokenKind
from berth.models.inventory import Project

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "berth_pat_"
SECRET_BYTES = 32
# `berth_pat_` + 4 characters: 24 bits of the 256, enough to tell tokens apart.
DISPLAY_PREFIX_LENGTH = len(TOKEN_PREFIX) + 4
NAME_MAX_LENGTH = 128
EXPIRES_IN_DAYS_RANGE = (1, 3650)
# `lastUsedAt` is for humans ("is this token still used?"); writing it on every
# request would turn each read into a write, so it is refreshed at most this often.
LAST_USED_RESOLUTION = timedelta(seconds=60)
# token_urlsafe(32) is 43 base64url characters without padding.
_TOKEN_RE = re.compile(r"berth_pat_[A-Za-z0-9_-]{43}")
CLI_CREATOR = "cli"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    # Depending on the Tortoise timezone setting a column may come back naive; it is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def is_api_token(value: str) -> bool:
    """Whether a bearer credential is one of ours (rather than a JWT)."""
    return value.startswith(TOKEN_PREFIX)


def display_prefix(token: str) -> str:
    return token[:DISPLAY_PREFIX_LENGTH]


def hash_token(token: str) -> str:
    return get_keyring().keyed_hash(token)


def principal_for_token(row: ApiToken) -> Principal:
    return make_principal(
        subject=f"token:{row.id}",
        email=None,
        role=Role(row.role),
        token_kind=TokenKind.API_TOKEN,
        credential_scopes=[s for s in (row.scopes or []) if isinstance(s, str)],
        project_ids=[int(p) for p in (row.project_ids or [])],
        token_name=row.name,
        token_id=row.id,
        expires_at=_aware(row.expires_at) if row.expires_at else None,
    )


def _normalize_project_ids(project_ids: Iterable[int | str]) -> list[int]:
    ids: set[int] = set()
    for raw in project_ids:
        value = parse_project_id(raw)
        if value is None:
            raise TokenGrantError("projectIds", "project ids must be positive integers")
        ids.add(value)
    return sorted(ids)


async def create_api_token(
    name: str,
    role: Role | str,
    scopes: Iterable[str] | None,
    project_ids: Iterable[int | str],
    expires_in_days: int | None,
    created_by: str,
    creator: Principal | None,
) -> tuple[ApiToken, str]:
    """Validate, store and return (row, secret); the secret exists only in the return value.

    `creator` None is the CLI bootstrap (any role). Otherwise the token can
    never have a role above the creator's, a scope the creator lacks, or a
    project outside the creator's. Default scopes: the role's scopes the
    creator holds. Raises TokenGrantError; nothing is stored then.
    """
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise TokenGrantError("name", "name must not be empty")
    if len(name) > NAME_MAX_LENGTH:
        raise TokenGrantError("name", f"name must be at most {NAME_MAX_LENGTH} characters")
    if not name.isprintable():
        # NUL in particular: PostgreSQL refuses it in text, which would fail the insert.
        raise TokenGrantError("name", "name must not contain control characters")

    parsed_role = role if isinstance(role, Role) else parse_role(str(role))
    if parsed_role is None:
        raise TokenGrantError("role", f"unknown role; expected one of: {', '.join(r.value for r in Role)}")

    low, high = EXPIRES_IN_DAYS_RANGE
    if expires_in_days is not None and (
        isinstance(expires_in_days, bool)
        or not isinstance(expires_in_days, int)
        or not low <= expires_in_days <= high
    ):
        raise TokenGrantError("expiresInDays", f"expiresInDays must be between {low} and {high}")

    ids = _normalize_project_ids(project_ids)
    if not ids and creator is not None and creator.is_project_limited:
        # No list means "all projects", which a limited creator cannot grant:
        # default to the creator's own projects instead.
        ids = sorted(creator.project_ids)

    if isinstance(scopes, str):
        scopes = [scopes]  # one scope passed bare, not a string of characters
    if scopes is None:
        granted: set[str] = set(ROLE_SCOPES[parsed_role])
        if creator is not None:
            granted &= creator.scopes
        requested = sorted(granted)
    else:
        requested = sorted(set(scopes))

    problems = grant_problems(creator, parsed_role, requested, ids)
    if problems:
        first = problems[0]
        raise TokenGrantError(first.field, first.message, first.code)
    if not requested:
        raise TokenGrantError("scopes", "the token would have no scopes")

    if ids and await Project.filter(id__in=ids).count() != len(ids):
        raise TokenGrantError("projectIds", "unknown project id", "NOT_FOUND")

    secret = generate_token()
    expires_at = _utcnow() + timedelta(days=expires_in_days) if expires_in_days is not None else None
    row = await ApiToken.create(
        name=name,
        prefix=display_prefix(secret),
        token_hash=hash_token(secret),
        role=parsed_role,
        scopes=requested,
        project_ids=ids,
        created_by=created_by,
        expires_at=expires_at,
    )
    # Logged without the secret or its hash.
    logger.info("API token %s (%s, role %s) created by %s", row.id, row.prefix, parsed_role.value, created_by)
    return row, secret


async def authenticate_api_token(token: str) -> Principal:
    """The Principal of a valid API token; InvalidCredential when unknown, revoked or expired."""
    if not _TOKEN_RE.fullmatch(token):
        raise InvalidCredential("API token is malformed")
    digest = hash_token(token)
    row = await ApiToken.get_or_none(token_hash=digest)
    if row is None or not get_keyring().hashes_equal(row.token_hash, digest):
        raise InvalidCredential("API token is not valid")
    now = _utcnow()
    if row.revoked_at is not None:
        raise InvalidCredential("API token has been revoked")
    if row.expires_at is not None and _aware(row.expires_at) <= now:
        raise InvalidCredential("API token has expired")
    # The row just read says whether a write is due: most requests of a busy token need none.
    if row.last_used_at is None or _aware(row.last_used_at) < now - LAST_USED_RESOLUTION:
        await _touch_last_used(row.id, now)
    return principal_for_token(row)


async def _touch_last_used(token_id: int, now: datetime) -> None:
    # One guarded UPDATE: concurrent requests cannot both pass a read-then-write
    # check, and a token used many times a minute costs at most one write a minute.
    await ApiToken.filter(
        Q(id=token_id),
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION),
    ).update(last_used_at=now)


def manages(principal: Principal, row: ApiToken) -> bool:
    """Whether `principal` may see and revoke the token `row` (`may_manage_token`)."""
    return may_manage_token(principal, Role(row.role), [int(p) for p in row.project_ids or []])


async def manageable_tokens(principal: Principal) -> list[ApiToken]:
    """The `apiTokens` list: the tokens `principal` manages, oldest first."""
    return [row for row in await ApiToken.all().order_by("id") if manages(principal, row)]


async def get_manageable_token(principal: Principal, token_id: int) -> ApiToken | None:
    """`node(id:)` and `revokeApiToken`: None for a token `principal` does not manage, as for
    one that does not exist, so a caller learns nothing about tokens above it."""
    row = await ApiToken.get_or_none(id=token_id)
    return row if row is not None and manages(principal, row) else None


async def revoke_managed_token(principal: Principal, token_id: int) -> ApiToken | None:
    """Revoke a token `principal` manages; None when there is none it manages."""
    row = await get_manageable_token(principal, token_id)
    return await revoke_api_token(row.id) if row is not None else None


async def revoke_api_token(token_id: int) -> ApiToken | None:
    """Revoke (idempotently: the first revocation time is kept); None when there is no such token."""
    await ApiToken.filter(id=token_id, revoked_at__isnull=True).update(revoked_at=_utcnow())
    row = await ApiToken.get_or_none(id=token_id)
    if row is not None:
        logger.info("API token %s (%s) revoked", row.id, row.prefix)
    return row


async def cli_create_token(
    name: str,
    role: Role | str,
    scopes: Iterable[str] | None,
    project_ids: Iterable[int | str],
    expires_in_days: int | None,
) -> str:
    """`berth token create`: the bootstrap path (no creator; any role). Returns the secret.

    An empty `scopes` (no --scope given) means the role's default scopes.
    The caller initializes the database; TokenGrantError carries a one-line reason.
    """
    scope_list = list(scopes) if scopes is not None else []
    _row, secret = await create_api_token(
        name=name,
        role=role,
        scopes=scope_list or None,
        project_ids=project_ids,
        expires_in_days=expires_in_days,
        created_by=CLI_CREATOR,
        creator=None,
    )
    return secret
