"""OAuth 2.0 JWT access tokens (RFC 9068) → Principal.

joserfc verifies signatures and the registered time claims; the checks it
leaves to the application are done here, before any key is looked up:
`typ` must say `at+jwt` (joserfc accepts a token without `typ`, which would let
an ID token or any other JWT of the issuer pass as an access token), and the
algorithm is pinned to asymmetric ones so `none` and HS256-with-the-public-key
can never verify.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import warnings
from datetime import UTC, datetime
from typing import Any

from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    JoseError,
    MissingClaimError,
    SecurityWarning,
)
from joserfc.jws import JWSRegistry

from berth.auth.errors import InvalidCredential
from berth.auth.jwks import SUPPORTED_ALGORITHMS, JwksCache
from berth.auth.principal import Principal, make_principal, parse_project_id
from berth.auth.scopes import parse_role
from berth.models.enums import TokenKind
from berth.settings import Settings

logger = logging.getLogger(__name__)

# RFC 9068 §2.1: "at+jwt"; §4 allows the full media type too. Compared case-insensitively.
ACCEPTED_TYPES = frozenset({"at+jwt", "application/at+jwt"})
# Far above any real access token; stops oversized input before parsing.
MAX_TOKEN_LENGTH = 16 * 1024
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


def _shown(value: object) -> str:
    """A header value echoed in an error message, cut short (it is attacker-chosen text)."""
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 24 else text[:24] + "…"


def read_header(token: str) -> dict[str, Any]:
    """The JOSE header of a compact JWS, unverified (only used to reject and to pick a key)."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidCredential("access token is too long")
    segments = token.split(".")
    if len(segments) != 3 or not all(_SEGMENT.fullmatch(s) for s in segments):
        # Also refuses JWE (five parts) and unsigned "a.b." tokens with an empty signature.
        raise InvalidCredential("access token is not a signed JWT (expected header.payload.signature)")
    try:
        raw = base64.urlsafe_b64decode(segments[0] + "=" * (-len(segments[0]) % 4))
        header = json.loads(raw)
    except ValueError:
        raise InvalidCredential("access token header is not valid base64url JSON") from None
    if not isinstance(header, dict):
        raise InvalidCredential("access token header is not a JSON object")
    return header


def check_header(header: dict[str, Any]) -> tuple[str, str | None]:
    """Enforce typ, alg and friends; return (alg, kid)."""
    typ = header.get("typ")
    if typ is None:
        raise InvalidCredential("access token has no 'typ' header (expected at+jwt)")
    if not isinstance(typ, str) or typ.lower() not in ACCEPTED_TYPES:
        raise InvalidCredential(f"access token 'typ' is {_shown(typ)!r}, expected at+jwt")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in SUPPORTED_ALGORITHMS:
        allowed = ", ".join(sorted(SUPPORTED_ALGORITHMS))
        raise InvalidCredential(
            f"access token algorithm {_shown(alg)!r} is not accepted (allowed: {allowed})"
        )
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise InvalidCredential("access token 'kid' header is not a string")
    # We implement no JWS extensions, so any critical one must be refused
    # (RFC 7515 §4.1.11); b64=false (RFC 7797) would change what is signed.
    if "crit" in header or "b64" in header:
        raise InvalidCredential("access token uses JWS extensions that are not supported")
    return alg, kid


_CLAIM_MESSAGES = {
    "iss": "access token was issued by an issuer this server does not trust",
    "aud": "access token is not intended for this API (aud)",
    "nbf": "access token is not valid yet (nbf)",
    "iat": "access token was issued in the future (iat)",
    "exp": "access token has an invalid expiry (exp)",
    "sub": "access token has an invalid subject (sub)",
}


def _validate_claims(claims: dict[str, Any], issuer: str, audience: str, leeway: int) -> None:
    registry = jwt.JWTClaimsRegistry(
        leeway=leeway,
        iss={"essential": True, "value": issuer},
        # A string audience must equal ours; a list must contain it.
        aud={"essential": True, "value": audience},
        exp={"essential": True},
        sub={"essential": True},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        raise InvalidCredential("access token has expired") from None
    except MissingClaimError as exc:
        missing = ", ".join(exc.claim.split(","))
        raise InvalidCredential(f"access token is missing required claim(s): {missing}") from None
    except ClaimError as exc:
        message = _CLAIM_MESSAGES.get(exc.claim, f"access token has an invalid {_shown(exc.claim)!r} claim")
        raise InvalidCredential(message) from None


def _verify_signature(token: str, alg: str, keys: list[Any]) -> dict[str, Any]:
    # Only the header's algorithm, which check_header already pinned; joserfc
    # then also refuses a key of the wrong type for it. strict_check_header is
    # off because issuers add harmless private header fields.
    registry = JWSRegistry(algorithms=[alg], strict_check_header=False)
    for key in keys:
        try:
            with warnings.catch_warnings():
                # joserfc warns that "EdDSA" is superseded by RFC 9864 names;
                # the contract names EdDSA, so accepting it is deliberate.
                warnings.simplefilter("ignore", SecurityWarning)
                token_obj = jwt.decode(token, key, algorithms=[alg], registry=registry)
        except BadSignatureError:
            continue
        except JoseError as exc:
            raise InvalidCredential(f"access token cannot be decoded ({exc.error})") from None
        return dict(token_obj.claims)
    raise InvalidCredential("access token signature is not valid")


def _scopes(claims: dict[str, Any]) -> list[str]:
    scope = claims.get("scope")
    if isinstance(scope, str):
        return scope.split()
    # Some issuers send `scp`, as a list or a space-separated string.
    scp = claims.get("scp")
    if isinstance(scp, str):
        return scp.split()
    if isinstance(scp, list):
        return [s for s in scp if isinstance(s, str)]
    return []


def parse_project_ids(value: object) -> frozenset[int] | None:
    """Project ids of the projects claim: a list of ints or decimal strings (one bare value allowed).

    Returns None when the claim is present but lists no project. Relay global
    ids are not understood: issuers are expected to put the numeric ids.
    Anything unparseable rejects the token: reading it as "no limit" would
    fail open.
    """
    items = value if isinstance(value, list) else [value]
    ids = [parse_project_id(item) for item in items]
    if any(i is None for i in ids):
        raise InvalidCredential("access token's projects claim is malformed (expected a list of project ids)")
    return frozenset(i for i in ids if i is not None) or None


def principal_from_claims(claims: dict[str, Any], settings: Settings) -> Principal:
    role_value = claims.get(settings.oauth_role_claim)
    role = parse_role(role_value) if isinstance(role_value, str) else None
    if role is None and role_value is not None:
        logger.info("access token for sub=%r has an unknown role claim; no scopes", claims.get("sub"))
    scopes = _scopes(claims)
    project_ids: frozenset[int] = frozenset()
    if settings.oauth_projects_claim in claims:
        parsed = parse_project_ids(claims[settings.oauth_projects_claim])
        if parsed is None:
            # An explicitly empty project list cannot be expressed as a limit
            # (empty means all projects), so it yields no scopes instead.
            scopes = []
        else:
            project_ids = parsed
    email = claims.get("email")
    try:
        expires_at: datetime | None = datetime.fromtimestamp(claims["exp"], UTC)
    except (OverflowError, ValueError, OSError):
        expires_at = None  # an absurdly distant exp; informational only
    return make_principal(
        subject=claims["sub"],
        email=email if isinstance(email, str) else None,
        role=role,
        token_kind=TokenKind.JWT,
        credential_scopes=scopes,
        project_ids=project_ids,
        issuer=claims["iss"],
        expires_at=expires_at,
    )


async def verify_access_token(token: str, *, settings: Settings, jwks: JwksCache) -> Principal:
    """Verify a JWT access token completely and return its Principal; InvalidCredential otherwise."""
    if not settings.oauth_issuer or not settings.oauth_audience:
        raise InvalidCredential("JWT access tokens are not accepted: no OAuth issuer/audience is configured")
    alg, kid = check_header(read_header(token))
    keys = await jwks.get_keys(kid, alg)
    claims = _verify_signature(token, alg, keys)
    _validate_claims(
        claims,
        issuer=settings.oauth_issuer,
        audience=settings.oauth_audience,
        leeway=max(0, round(settings.oauth_leeway_seconds)),
    )
    return principal_from_claims(claims, settings)
