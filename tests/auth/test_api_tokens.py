"""API tokens: format, storage (keyed hash only), lookup, revocation, expiry, lastUsedAt, grants."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from berth.auth import (
    InvalidCredential,
    Principal,
    TokenGrantError,
    authenticate_api_token,
    authenticate_authorization,
    cli_create_token,
    create_api_token,
    generate_token,
    make_principal,
    revoke_api_token,
)
from berth.auth.api_tokens import DISPLAY_PREFIX_LENGTH, TOKEN_PREFIX
from berth.crypto import get_keyring
from berth.models import ApiToken, Project
from berth.models.enums import DeploymentTrigger, Role, TokenKind


def creator(role: Role, scopes: set[str] | None = None, projects: set[int] | None = None) -> Principal:
    from berth.auth.scopes import ROLE_SCOPES

    return make_principal(
        subject=f"{role.value.lower()}-user",
        email=None,
        role=role,
        token_kind=TokenKind.JWT,
        credential_scopes=scopes if scopes is not None else ROLE_SCOPES[role],
        project_ids=projects or set(),
        issuer="https://issuer.test",
    )


async def make(role: Role = Role.AGENT, **kwargs: object) -> tuple[ApiToken, str]:
    args: dict[str, object] = {
        "name": "ci-bot",
        "role": role,
        "scopes": None,
        "project_ids": [],
        "expires_in_days": None,
        "created_by": "test",
        "creator": None,
    }
    args.update(kwargs)
    return await create_api_token(**args)  # type: ignore[arg-type]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# ---------------------------------------------------------------- format (no database)


def test_token_format() -> None:
    tokens = {generate_token() for _ in range(50)}
    assert len(tokens) == 50
    for token in tokens:
        assert token.startswith(TOKEN_PREFIX)
        secret = token.removeprefix(TOKEN_PREFIX)
        assert len(secret) == 43
        raw = base64.urlsafe_b64decode(secret + "=")
        assert len(raw) == 32  # 256 bits from secrets.token_bytes


# ---------------------------------------------------------------- storage and lookup


async def test_create_then_authenticate(db: None) -> None:
    row, secret = await make(Role.AGENT, name="deployer", expires_in_days=30)
    assert row.prefix == secret[:DISPLAY_PREFIX_LENGTH] == TOKEN_PREFIX + secret[len(TOKEN_PREFIX) :][:4]
    assert row.token_hash == get_keyring().keyed_hash(secret)
    assert row.expires_at is not None
    principal = await authenticate_api_token(secret)
    assert principal.token_kind is TokenKind.API_TOKEN
    assert principal.role is Role.AGENT
    assert principal.token_id == row.id
    assert principal.token_name == "deployer"
    assert principal.subject == f"token:{row.id}"
    assert principal.idempotency_subject == f"token:{row.id}"
    assert principal.trigger is DeploymentTrigger.AGENT
    assert principal.scopes == {
        "deploy:read",
        "deploy:start",
        "deploy:cancel",
        "deploy:rollback",
        "logs:read",
        "service:read",
        "server:read",
    }
    assert not principal.is_project_limited


async def test_non_agent_token_triggers_api(db: None) -> None:
    _row, secret = await make(Role.OPERATOR)
    assert (await authenticate_api_token(secret)).trigger is DeploymentTrigger.API


async def test_authorization_header_routes_to_api_tokens(db: None) -> None:
    row, secret = await make(Role.VIEWER)
    principal = await authenticate_authorization(f"Bearer {secret}")
    assert principal is not None and principal.token_id == row.id
    assert principal.scopes == {"deploy:read", "service:read", "server:read"}


async def test_database_holds_no_secret(db: None) -> None:
    secrets_ = [(await make(role))[1] for role in (Role.OWNER, Role.AGENT, Role.VIEWER)]
    rows = await ApiToken._meta.db.execute_query_dict("SELECT * FROM api_token")
    assert len(rows) == 3
    stored = " ".join(str(value) for row in rows for value in row.values())
    for token in secrets_:
        secret_part = token.removeprefix(TOKEN_PREFIX)
        assert token not in stored
        # Only the 4 displayed characters may appear; nothing beyond them.
        assert secret_part[4:] not in stored
        assert secret_part[4:12] not in stored
        raw = base64.urlsafe_b64decode(secret_part + "=")
        assert raw.hex() not in stored
        assert base64.b64encode(raw).decode() not in stored


async def test_unknown_token_is_invalid(db: None) -> None:
    await make()
    with pytest.raises(InvalidCredential, match="not valid"):
        await authenticate_api_token(generate_token())


async def test_malformed_token_is_invalid_without_lookup(db: None) -> None:
    _row, secret = await make()
    for bad in (secret + "x", secret[:-1], secret.replace("berth_pat_", "berth_pat_!"), TOKEN_PREFIX):
        with pytest.raises(InvalidCredential, match="malformed"):
            await authenticate_api_token(bad)


async def test_revoked_token_is_invalid(db: None) -> None:
    row, secret = await make()
    await authenticate_api_token(secret)
    revoked = await revoke_api_token(row.id)
    assert revoked is not None and revoked.revoked_at is not None
    with pytest.raises(InvalidCredential, match="revoked") as info:
        await authenticate_api_token(secret)
    assert secret not in str(info.value)
    # Revoking again keeps the first revocation time.
    again = await revoke_api_token(row.id)
    assert again is not None and again.revoked_at == revoked.revoked_at


async def test_revoke_unknown_token(db: None) -> None:
    assert await revoke_api_token(987654) is None


async def test_expired_token_is_invalid(db: None) -> None:
    row, secret = await make(expires_in_days=1)
    await authenticate_api_token(secret)
    await ApiToken.filter(id=row.id).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    with pytest.raises(InvalidCredential, match="expired"):
        await authenticate_api_token(secret)


async def test_last_used_at_written_at_most_once_a_minute(db: None) -> None:
    row, secret = await make()
    assert (await ApiToken.get(id=row.id)).last_used_at is None

    await authenticate_api_token(secret)
    first = (await ApiToken.get(id=row.id)).last_used_at
    assert first is not None
    assert abs(_aware(first) - datetime.now(UTC)) < timedelta(seconds=10)

    for _ in range(3):
        await authenticate_api_token(secret)
    assert (await ApiToken.get(id=row.id)).last_used_at == first

    # A minute later (moved back in the database) it is written again.
    earlier = datetime.now(UTC) - timedelta(seconds=61)
    await ApiToken.filter(id=row.id).update(last_used_at=earlier)
    await authenticate_api_token(secret)
    refreshed = (await ApiToken.get(id=row.id)).last_used_at
    assert refreshed is not None and _aware(refreshed) > earlier + timedelta(seconds=30)


# ---------------------------------------------------------------- granting


async def _count() -> int:
    return await ApiToken.all().count()


async def test_role_above_the_creator_is_refused(db: None) -> None:
    with pytest.raises(TokenGrantError) as info:
        await make(Role.OWNER, creator=creator(Role.ADMIN))
    assert info.value.field == "role"
    assert await _count() == 0


@pytest.mark.parametrize("name", ["ci\x00bot", "ci\nbot"])
async def test_a_name_with_control_characters_is_refused(db: None, name: str) -> None:
    # Found by the schema fuzz on PostgreSQL, which refuses NUL in text (an internal error before).
    with pytest.raises(TokenGrantError) as info:
        await make(name=name)
    assert (info.value.field, info.value.message) == ("name", "name must not contain control characters")
    assert await _count() == 0


async def test_equal_role_is_allowed(db: None) -> None:
    row, _ = await make(Role.ADMIN, creator=creator(Role.ADMIN))
    assert row.role == Role.ADMIN


async def test_scope_the_creator_lacks_is_refused(db: None) -> None:
    # A developer may create an agent token, but not with deploy:rollback, which it lacks.
    with pytest.raises(TokenGrantError) as info:
        await make(Role.AGENT, scopes=["deploy:read", "deploy:rollback"], creator=creator(Role.DEVELOPER))
    assert info.value.field == "scopes"
    assert "deploy:rollback" in info.value.message
    assert await _count() == 0


async def test_scope_outside_the_role_is_refused(db: None) -> None:
    with pytest.raises(TokenGrantError) as info:
        await make(Role.VIEWER, scopes=["deploy:read", "deploy:start"], creator=creator(Role.OWNER))
    assert info.value.field == "scopes"
    assert await _count() == 0


async def test_unknown_scope_is_refused(db: None) -> None:
    with pytest.raises(TokenGrantError, match="unknown scope"):
        await make(Role.OWNER, scopes=["deploy:read", "root:everything"])


async def test_project_outside_the_creators_is_refused(db: None) -> None:
    p1 = await Project.create(name="p1")
    p2 = await Project.create(name="p2")
    limited = creator(Role.ADMIN, projects={p1.id})
    with pytest.raises(TokenGrantError) as info:
        await make(Role.AGENT, project_ids=[p1.id, p2.id], creator=limited)
    assert info.value.field == "projectIds"
    assert info.value.code == "NOT_FOUND"
    assert await _count() == 0


async def test_limited_creator_without_projects_gets_its_own(db: None) -> None:
    p1 = await Project.create(name="p1")
    await Project.create(name="p2")
    row, secret = await make(Role.AGENT, creator=creator(Role.ADMIN, projects={p1.id}))
    assert row.project_ids == [p1.id]
    principal = await authenticate_api_token(secret)
    assert principal.project_ids == {p1.id}
    assert principal.may_see_project(p1.id)


async def test_unknown_project_is_refused(db: None) -> None:
    with pytest.raises(TokenGrantError) as info:
        await make(Role.AGENT, project_ids=[424242], creator=creator(Role.OWNER))
    assert info.value.code == "NOT_FOUND"


async def test_project_limited_token(db: None) -> None:
    p = await Project.create(name="web")
    _row, secret = await make(Role.DEVELOPER, project_ids=[str(p.id)], creator=creator(Role.OWNER))
    principal = await authenticate_api_token(secret)
    assert principal.project_ids == {p.id}
    assert not principal.may_see_project(p.id + 1)


async def test_default_scopes_are_the_roles_that_the_creator_holds(db: None) -> None:
    row, _ = await make(Role.AGENT, creator=creator(Role.DEVELOPER))
    assert set(row.scopes) == {
        "deploy:read",
        "deploy:start",
        "deploy:cancel",
        "logs:read",
        "service:read",
        "server:read",
    }

    narrow = creator(Role.ADMIN, scopes={"deploy:read", "deploy:start", "tokens:manage"})
    row, secret = await make(Role.OPERATOR, creator=narrow)
    assert set(row.scopes) == {"deploy:read", "deploy:start"}
    assert (await authenticate_api_token(secret)).scopes == {"deploy:read", "deploy:start"}


async def test_token_without_any_scope_is_refused(db: None) -> None:
    with pytest.raises(TokenGrantError) as info:
        await make(Role.VIEWER, creator=creator(Role.ADMIN, scopes={"tokens:manage"}))
    assert info.value.field == "scopes"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 129}, "name"),
        ({"expires_in_days": 0}, "expiresInDays"),
        ({"expires_in_days": 3651}, "expiresInDays"),
        ({"role": "root"}, "role"),
        ({"project_ids": [0]}, "projectIds"),
        ({"project_ids": ["abc"]}, "projectIds"),
        ({"project_ids": [True]}, "projectIds"),
        ({"project_ids": ["²"]}, "projectIds"),
    ],
)
async def test_invalid_input(db: None, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(TokenGrantError) as info:
        await make(**kwargs)
    assert info.value.field == field
    assert await _count() == 0


async def test_expiry_bounds_are_inclusive(db: None) -> None:
    await make(expires_in_days=1)
    row, _ = await make(expires_in_days=3650)
    assert row.expires_at is not None
    assert _aware(row.expires_at) - datetime.now(UTC) > timedelta(days=3649)


# ---------------------------------------------------------------- CLI bootstrap


async def test_cli_create_token(db: None) -> None:
    p = await Project.create(name="api")
    secret = await cli_create_token("bootstrap", "owner", [], [str(p.id)], 90)
    principal = await authenticate_api_token(secret)
    assert principal.role is Role.OWNER
    assert principal.scopes == {s.value for s in __import__("berth.auth", fromlist=["Scope"]).Scope}
    assert principal.project_ids == {p.id}
    row = await ApiToken.get(id=principal.token_id)
    assert row.created_by == "cli"


async def test_cli_create_token_with_scopes(db: None) -> None:
    secret = await cli_create_token("reader", "VIEWER", ["deploy:read"], [], None)
    principal = await authenticate_api_token(secret)
    assert principal.scopes == {"deploy:read"}
    assert principal.expires_at is None


async def test_cli_create_token_refuses_bad_input(db: None) -> None:
    with pytest.raises(TokenGrantError):
        await cli_create_token("x", "viewer", ["server:write"], [], None)
