"""`Authorization` header → Principal, for HTTP requests and WebSocket `connection_init`.

No credential is not an error (the request runs anonymously); a credential
that is present but unusable always is, so a typo in a token never silently
downgrades a caller to anonymous.
"""

from __future__ import annotations

import logging
import re

from berth.auth.api_tokens import authenticate_api_token, is_api_token
from berth.auth.errors import InvalidCredential
from berth.auth.jwks import JwksCache
from berth.auth.jwt_tokens import verify_access_token
from berth.auth.principal import Principal
from berth.domain.audit_refusals import record_refusal
from berth.settings import Settings, get_settings

logger = logging.getLogger(__name__)

# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")

_jwks_cache: JwksCache | None = None
_jwks_cache_key: tuple[str, str | None, float] | None = None


def get_jwks_cache(settings: Settings) -> JwksCache:
    """The process-wide key cache; a new one whenever the issuer settings change."""
    global _jwks_cache, _jwks_cache_key
    assert settings.oauth_issuer is not None
    key = (settings.oauth_issuer, settings.oauth_jwks_url, settings.jwks_refresh_min_seconds)
    if _jwks_cache is None or _jwks_cache_key != key:
        _jwks_cache = JwksCache(*key)
        _jwks_cache_key = key
    return _jwks_cache


def reset_jwks_cache() -> None:
    """Forget cached keys (tests point the settings at a new issuer between cases)."""
    global _jwks_cache, _jwks_cache_key
    _jwks_cache = None
    _jwks_cache_key = None


def parse_authorization(header_value: str) -> str:
    """The credential of `Bearer <credential>`; InvalidCredential for any other shape."""
    parts = header_value.split()
    if not parts:
        raise InvalidCredential("Authorization header is empty")
    if parts[0].lower() != "bearer":
        raise InvalidCredential("Authorization header must use the Bearer scheme")
    if len(parts) != 2:
        raise InvalidCredential("Authorization header must be 'Bearer <token>'")
    if not _B64TOKEN.fullmatch(parts[1]):
        raise InvalidCredential("bearer token contains characters that are not allowed")
    return parts[1]


async def authenticate_bearer(token: str, settings: Settings | None = None) -> Principal:
    """Verify a bare bearer credential: an API token by its prefix, otherwise a JWT access token."""
    if is_api_token(token):
        return await authenticate_api_token(token)
    settings = settings or get_settings()
    if not settings.oauth_issuer or not settings.oauth_audience:
        raise InvalidCredential("JWT access tokens are not accepted: no OAuth issuer/audience is configured")
    return await verify_access_token(token, settings=settings, jwks=get_jwks_cache(settings))


async def authenticate_authorization(
    header_value: str | None, remote_address: str | None = None, transport: str = "http"
) -> Principal | None:
    """None when no credential was sent; a Principal; or InvalidCredential (→ HTTP 401).
    Every refusal is an `auth.refused` audit entry (the reason and address only)."""
    if header_value is None:
        return None
    try:
        if not isinstance(header_value, str):
            # connection_init payloads are arbitrary JSON; a non-string is malformed, not absent.
            raise InvalidCredential("authorization must be a string 'Bearer <token>'")
        token = parse_authorization(header_value)
        return await authenticate_bearer(token)
    except InvalidCredential as exc:
        # The reason only: never the credential.
        logger.info("credential rejected: %s", exc.message)
        await record_refusal(exc.message, remote_address, transport)
        raise
