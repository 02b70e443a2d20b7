"""What the dashboard needs for "Sign in with <issuer>": GET /dashboard/config.json.

With BERTH_OAUTH_ISSUER and BERTH_OAUTH_CLIENT_ID set, the page runs the authorization code
flow with PKCE (RFC 7636) as a public client: it sends the browser to the issuer's
authorization endpoint and exchanges the code at its token endpoint itself, then uses the
access token (a JWT, checked by the API as any other) as its bearer. Berth only reads the
issuer's metadata (RFC 8414, or OpenID Connect Discovery) to tell the page where those two
endpoints are, and lets the page's Content-Security-Policy reach the token endpoint.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx

from berth.auth.jwks import metadata_urls
from berth.http.origins import normalize_origin
from berth.settings import Settings

log = logging.getLogger("berth.http.dashboard")

METADATA_TIMEOUT_SECONDS = 5.0
MAX_METADATA_BYTES = 256 * 1024
# Metadata rarely changes; a failed look-up is tried again sooner.
CACHE_SECONDS = 300.0
RETRY_SECONDS = 15.0


@dataclass(frozen=True)
class OAuthClientConfig:
    issuer: str
    client_id: str
    authorization_endpoint: str
    token_endpoint: str
    scope: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "clientId": self.client_id,
            "authorizationEndpoint": self.authorization_endpoint,
            "tokenEndpoint": self.token_endpoint,
            "scope": self.scope,
        }

    @property
    def token_origin(self) -> str | None:
        return normalize_origin(self.token_endpoint)


_cache: dict[tuple[str, str], tuple[float, OAuthClientConfig | None]] = {}


def _endpoint(metadata: dict[str, Any], name: str) -> str | None:
    value = metadata.get(name)
    if isinstance(value, str) and value.startswith(("https://", "http://")):
        return value
    return None


async def _fetch_metadata(issuer: str) -> dict[str, Any] | None:
    async with httpx.AsyncClient(timeout=METADATA_TIMEOUT_SECONDS, follow_redirects=True) as client:
        for url in metadata_urls(issuer):
            try:
                response = await client.get(url, headers={"accept": "application/json"})
            except httpx.HTTPError as exc:
                log.debug("no issuer metadata at %s: %s", url, type(exc).__name__)
                continue
            if response.status_code != 200 or len(response.content) > MAX_METADATA_BYTES:
                continue
            try:
                metadata = json.loads(response.content)
            except ValueError:
                continue
            # RFC 8414 §3.3: metadata naming another issuer must not be used.
            if isinstance(metadata, dict) and metadata.get("issuer") == issuer:
                return metadata
    return None


async def oauth_client_config(settings: Settings) -> OAuthClientConfig | None:
    """The sign-in the page offers, or None (not configured, or the issuer's metadata names
    no authorization and token endpoints)."""
    if not settings.oauth_issuer or not settings.oauth_client_id:
        return None
    key = (settings.oauth_issuer, settings.oauth_client_id)
    cached = _cache.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    config: OAuthClientConfig | None = None
    metadata = await _fetch_metadata(settings.oauth_issuer)
    authorize = _endpoint(metadata, "authorization_endpoint") if metadata else None
    token = _endpoint(metadata, "token_endpoint") if metadata else None
    if authorize and token:
        config = OAuthClientConfig(settings.oauth_issuer, settings.oauth_client_id, authorize, token, settings.oauth_scope)
    else:
        log.warning("the OAuth issuer's metadata names no authorization and token endpoints: no dashboard sign-in")
    _cache[key] = (time.monotonic() + (CACHE_SECONDS if config else RETRY_SECONDS), config)
    return config
