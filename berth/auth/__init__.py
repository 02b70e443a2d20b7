"""Credentials, roles and scopes (CONTRACT §2), apart from how credentials are obtained.

Nothing here imports strawberry: the GraphQL layer asks `authenticate_*` for a
Principal and checks `Principal.missing(...)` against `@requiresScopes`.
"""

from berth.auth.api_tokens import (
    TOKEN_PREFIX,
    authenticate_api_token,
    cli_create_token,
    create_api_token,
    generate_token,
    revoke_api_token,
)
from berth.auth.authenticate import (
    authenticate_authorization,
    authenticate_bearer,
    parse_authorization,
    reset_jwks_cache,
)
from berth.auth.errors import WWW_AUTHENTICATE, InvalidCredential, TokenGrantError
from berth.auth.principal import Principal, make_principal
from berth.auth.scopes import ALL_SCOPES, ROLE_RANK, ROLE_SCOPES, Scope, can_grant, grant_problems

__all__ = [
    "ALL_SCOPES",
    "ROLE_RANK",
    "ROLE_SCOPES",
    "TOKEN_PREFIX",
    "WWW_AUTHENTICATE",
    "InvalidCredential",
    "Principal",
    "Scope",
    "TokenGrantError",
    "authenticate_api_token",
    "authenticate_authorization",
    "authenticate_bearer",
    "can_grant",
    "cli_create_token",
    "create_api_token",
    "generate_token",
    "grant_problems",
    "make_principal",
    "parse_authorization",
    "reset_jwks_cache",
    "revoke_api_token",
]
