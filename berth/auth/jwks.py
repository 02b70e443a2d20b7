"""The trusted issuer's signing keys (JWKS), fetched over HTTP and cached in memory.

Rules (CONTRACT §2): keys come from `BERTH_OAUTH_JWKS_URL` or, when unset, the
`jwks_uri` of the issuer's metadata (RFC 8414, then OpenID discovery). A token
whose `kid` is not in the cached set makes the set be fetched again, but at
most once per `jwks_refresh_min_seconds`: anyone can mint tokens with random
`kid`s, and each must not turn into a request to the issuer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from time import monotonic
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, Key, OKPKey, RSAKey

from berth.auth.errors import InvalidCredential

logger = logging.getLogger(__name__)

# Even without an unknown kid, refetch now and then so a key the issuer has
# withdrawn (e.g. after a compromise) stops being accepted.
JWKS_MAX_AGE_SECONDS = 3600.0
# With no keys at all every JWT fails, so a failed first fetch is retried sooner
# than the unknown-kid interval (but never more often than this).
FIRST_FETCH_RETRY_SECONDS = 5.0
HTTP_TIMEOUT_SECONDS = 5.0
# Metadata and key sets are a few KiB; refuse to buffer anything much larger.
MAX_DOCUMENT_BYTES = 512 * 1024
MIN_RSA_BITS = 2048

# Which key may verify which algorithm: the key type (and curve) must match, so
# a token cannot pick an algorithm that reinterprets a key (alg confusion).
_ALG_KEYS: dict[str, tuple[type[Key], frozenset[str] | None]] = {
    "RS256": (RSAKey, None),
    "ES256": (ECKey, frozenset({"P-256"})),
    "EdDSA": (OKPKey, frozenset({"Ed25519", "Ed448"})),
    "Ed25519": (OKPKey, frozenset({"Ed25519"})),
}
SUPPORTED_ALGORITHMS: frozenset[str] = frozenset(_ALG_KEYS)


class _FetchError(Exception):
    """The issuer's metadata or key set could not be fetched or understood (logged, not shown)."""


def metadata_urls(issuer: str) -> list[str]:
    """Where the issuer's metadata may be, most specific first.

    RFC 8414 §3 inserts the well-known segment before the issuer's path;
    OpenID Connect Discovery appends it. For an issuer without a path both
    forms are the same URL per document type.
    """
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    urls = [
        urlunsplit((parts.scheme, parts.netloc, "/.well-known/oauth-authorization-server" + path, "", "")),
        issuer.rstrip("/") + "/.well-known/oauth-authorization-server",
        issuer.rstrip("/") + "/.well-known/openid-configuration",
        urlunsplit((parts.scheme, parts.netloc, "/.well-known/openid-configuration" + path, "", "")),
    ]
    return list(dict.fromkeys(urls))  # dedupe, keep order


def key_fits(key: Key, alg: str) -> bool:
    """Whether `key` may verify a signature made with `alg`."""
    spec = _ALG_KEYS.get(alg)
    if spec is None:
        return False
    key_cls, curves = spec
    if not isinstance(key, key_cls):
        return False
    if curves is not None and isinstance(key, ECKey | OKPKey) and key.curve_name not in curves:
        return False
    # A key that declares its algorithm is only used for that one (RFC 7517 §4.4).
    return key.alg is None or key.alg == alg


def parse_jwks(document: Any) -> list[Key]:
    """Usable signature-verification keys of a JWK Set; unusable entries are skipped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise _FetchError("the JWKS document has no 'keys' list")
    keys: list[Key] = []
    for entry in document["keys"]:
        if not isinstance(entry, dict):
            continue
        # Symmetric keys never verify access tokens here (HS* is refused), and
        # keys meant for encryption are not signing keys.
        if entry.get("kty") not in {"RSA", "EC", "OKP"} or entry.get("use", "sig") != "sig":
            continue
        try:
            key = JWKRegistry.import_key(entry)
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            logger.warning("skipping a JWKS key that cannot be imported (kid=%r): %s", entry.get("kid"), exc)
            continue
        if isinstance(key, RSAKey):
            public = key.public_key
            if isinstance(public, RSAPublicKey) and public.key_size < MIN_RSA_BITS:
                logger.warning("skipping a JWKS RSA key shorter than %d bits", MIN_RSA_BITS)
                continue
        keys.append(key)
    if not keys:
        raise _FetchError("the JWKS document has no usable signing keys")
    return keys


class JwksCache:
    """In-memory key set of one issuer, shared by every request of the process."""

    def __init__(
        self,
        issuer: str,
        jwks_url: str | None,
        refresh_min_seconds: float,
        *,
        timeout: float = HTTP_TIMEOUT_SECONDS,
    ) -> None:
        self.issuer = issuer
        self.configured_jwks_url = jwks_url
        self.refresh_min_seconds = max(0.0, refresh_min_seconds)
        self.timeout = timeout
        self._discovered_jwks_url: str | None = None
        self._keys: list[Key] = []
        self._loaded_at: float | None = None
        self._attempted_at: float | None = None
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        #: How many times the key set was requested from the issuer (for diagnostics).
        self.fetch_count = 0

    # -- lookup ---------------------------------------------------------------

    async def get_keys(self, kid: str | None, alg: str) -> list[Key]:
        """Keys that may verify a token with this `kid` and `alg` (several only when kid is absent).

        Raises InvalidCredential when none is known, after at most one
        rate-limited refetch.
        """
        await self._refresh_when(self._needs_load)
        keys = self._find(kid, alg)
        if not keys:
            await self._refresh_when(lambda: self._attempt_allowed(self.refresh_min_seconds))
            keys = self._find(kid, alg)
        if not keys:
            if not self._keys:
                raise InvalidCredential("the issuer's signing keys are unavailable; try again later")
            raise InvalidCredential("access token is signed with a key the issuer does not publish")
        return keys

    def _find(self, kid: str | None, alg: str) -> list[Key]:
        fitting = [k for k in self._keys if key_fits(k, alg)]
        if kid is None:
            # RFC 9068 does not require `kid`; the verifier tries each fitting key.
            return fitting
        return [k for k in fitting if k.kid == kid]

    # -- refresh policy -------------------------------------------------------

    def _attempt_allowed(self, interval: float) -> bool:
        return self._attempted_at is None or monotonic() - self._attempted_at >= interval

    def _needs_load(self) -> bool:
        if self._loaded_at is None:
            return self._attempt_allowed(min(self.refresh_min_seconds, FIRST_FETCH_RETRY_SECONDS))
        max_age = max(JWKS_MAX_AGE_SECONDS, self.refresh_min_seconds)
        return monotonic() - self._loaded_at >= max_age and self._attempt_allowed(self.refresh_min_seconds)

    def _get_lock(self) -> asyncio.Lock:
        # An asyncio.Lock belongs to one event loop; tests run one loop per
        # test, the server one for its life. Make a fresh lock per loop.
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock = asyncio.Lock()
            self._lock_loop = loop
        return self._lock

    async def _refresh_when(self, should: Callable[[], bool]) -> None:
        lock = self._get_lock()
        # While a fetch is in flight, wait for it even if no new fetch is
        # due: on a cold start, requests arriving during the first fetch must
        # see its keys, not an empty cache.
        if not should() and not lock.locked():
            return
        async with lock:
            # Everyone who queued behind a fetch sees its result here and does
            # not fetch again: a burst of bad kids costs one request.
            if not should():
                return
            self._attempted_at = monotonic()
            self.fetch_count += 1
            try:
                keys = await self._fetch()
            except _FetchError as exc:
                # Keep serving with the previous keys, if any (availability).
                logger.warning("could not refresh the OAuth issuer's JWKS: %s", exc)
                return
            self._keys = keys
            self._loaded_at = monotonic()
            logger.info("loaded %d signing key(s) of the OAuth issuer", len(keys))

    # -- HTTP -------------------------------------------------------------------

    async def _fetch(self) -> list[Key]:
        async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=True) as client:
            url = self.configured_jwks_url or self._discovered_jwks_url or await self._discover(client)
            try:
                return parse_jwks(await self._get_json(client, url))
            except _FetchError:
                # A discovered URL may have moved; look it up again next time.
                self._discovered_jwks_url = None
                raise

    async def _discover(self, client: httpx.AsyncClient) -> str:
        for url in metadata_urls(self.issuer):
            try:
                metadata = await self._get_json(client, url)
            except _FetchError as exc:
                logger.debug("no issuer metadata at %s: %s", url, exc)
                continue
            if not isinstance(metadata, dict):
                continue
            # RFC 8414 §3.3: metadata naming another issuer must not be used.
            if metadata.get("issuer") != self.issuer:
                logger.warning("issuer metadata at %s names a different issuer; ignored", url)
                continue
            jwks_uri = metadata.get("jwks_uri")
            if isinstance(jwks_uri, str) and jwks_uri:
                self._discovered_jwks_url = jwks_uri
                return jwks_uri
        raise _FetchError("no issuer metadata with a jwks_uri was found (set BERTH_OAUTH_JWKS_URL)")

    async def _get_json(self, client: httpx.AsyncClient, url: str) -> Any:
        try:
            async with client.stream("GET", url, headers={"Accept": "application/json"}) as response:
                if response.status_code != 200:
                    raise _FetchError(f"GET {url} answered HTTP {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > MAX_DOCUMENT_BYTES:
                        raise _FetchError(f"GET {url} answered more than {MAX_DOCUMENT_BYTES} bytes")
        except httpx.HTTPError as exc:
            raise _FetchError(f"GET {url} failed: {type(exc).__name__}") from exc
        try:
            return json.loads(bytes(body))
        except ValueError as exc:
            raise _FetchError(f"GET {url} did not answer JSON") from exc
