"""A real, tiny OAuth issuer on loopback for the JWT tests.

It serves RFC 8414 / OpenID metadata and a JWKS over HTTP from a thread (so
the code under test does its real httpx fetches), counts what is fetched, and
mints access tokens — good ones and every kind of bad one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import warnings
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey

OAUTH_METADATA_PATH = "/.well-known/oauth-authorization-server"
OPENID_METADATA_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/jwks.json"
AUDIENCE = "https://berth.test/graphql"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


_ALG_KEY_CLASS: dict[str, type[Key]] = {"RS256": RSAKey, "ES256": ECKey, "EdDSA": OKPKey}


def _generate(alg: str, kid: str) -> Key:
    if alg == "RS256":
        return RSAKey.generate_key(2048, parameters={"kid": kid})
    if alg == "ES256":
        return ECKey.generate_key("P-256", parameters={"kid": kid})
    if alg == "EdDSA":
        return OKPKey.generate_key("Ed25519", parameters={"kid": kid})
    raise ValueError(alg)


class Issuer:
    """Start with `start()`; `url` is the issuer identifier, `jwks_url` its key set."""

    def __init__(self, audience: str = AUDIENCE) -> None:
        self.audience = audience
        self._lock = threading.Lock()
        self.hits: Counter[str] = Counter()
        # Initial keys, one per algorithm; kept across reset() so the session
        # pays for RSA key generation once.
        self._initial = {alg: _generate(alg, f"{alg.lower()}-1") for alg in _ALG_KEY_CLASS}
        self._rotation = 0
        self.reset()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="test-issuer", daemon=True)

    # -- lifecycle ------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def jwks_url(self) -> str:
        return self.url + JWKS_PATH

    def start(self) -> Issuer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        """Back to the initial keys and settings; counters to zero."""
        with self._lock:
            self.signing_keys: dict[str, Key] = {k.kid or "": k for k in self._initial.values()}
            self.current_kid: dict[str, str] = {alg: k.kid or "" for alg, k in self._initial.items()}
            self.published: set[str] = set(self.signing_keys)
            self.serve_oauth_metadata = True
            self.serve_openid_metadata = True
            self.hits.clear()

    @property
    def jwks_fetches(self) -> int:
        with self._lock:
            return self.hits[JWKS_PATH]

    # -- keys -----------------------------------------------------------------

    def jwks(self) -> dict[str, Any]:
        with self._lock:
            return {"keys": [self.signing_keys[kid].as_dict(private=False) for kid in sorted(self.published)]}

    def rotate(self, alg: str = "RS256", *, keep_old: bool = True) -> str:
        """Publish a new key for `alg` and sign with it from now on; return its kid."""
        self._rotation += 1
        kid = f"{alg.lower()}-rotated-{self._rotation}"
        key = _generate(alg, kid)
        with self._lock:
            old = self.current_kid[alg]
            self.signing_keys[kid] = key
            self.current_kid[alg] = kid
            self.published.add(kid)
            if not keep_old:
                self.published.discard(old)
        return kid

    def public_pem(self, alg: str = "RS256") -> bytes:
        key = self.signing_keys[self.current_kid[alg]]
        assert isinstance(key, RSAKey | ECKey | OKPKey)
        return key.as_pem(private=False)

    # -- tokens ---------------------------------------------------------------

    def claims(self, **overrides: Any) -> dict[str, Any]:
        """Valid access-token claims; an override of None removes that claim."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": self.audience,
            "sub": "user-42",
            "client_id": "berth-cli",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": f"jti-{now}-{self._rotation}",
            "email": "ada@example.test",
            "scope": "deploy:read deploy:start service:read service:write tokens:manage",
            "berth_role": "developer",
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(
        self,
        claims: dict[str, Any],
        alg: str = "RS256",
        headers: dict[str, Any] | None = None,
        key: Key | None = None,
    ) -> str:
        """A signed JWT with `typ: at+jwt` and the current kid; a header of None is omitted."""
        key = key or self.signing_keys[self.current_kid[alg]]
        header: dict[str, Any] = {"alg": alg, "typ": "at+jwt", "kid": key.kid}
        header.update(headers or {})
        header = {k: v for k, v in header.items() if v is not None}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SecurityWarning)  # EdDSA is "deprecated" in joserfc
            return jwt.encode(header, claims, key, algorithms=[alg], default_type=None)

    def sign_with_unpublished_key(
        self, claims: dict[str, Any], alg: str = "RS256", kid: str = "nobody"
    ) -> str:
        """Properly signed, but by a key (with a kid) this issuer never published."""
        return self.sign(claims, alg, key=_generate(alg, kid))

    @staticmethod
    def alg_none(claims: dict[str, Any], kid: str | None = None) -> str:
        """`alg: none`, built by hand: libraries refuse to produce it."""
        header: dict[str, Any] = {"alg": "none", "typ": "at+jwt"}
        if kid:
            header["kid"] = kid
        return f"{b64url_json(header)}.{b64url_json(claims)}."

    def hs256_with_public_key(self, claims: dict[str, Any]) -> str:
        """The classic alg-confusion forgery: HMAC keyed with the RSA public key's PEM."""
        header = {"alg": "HS256", "typ": "at+jwt", "kid": self.current_kid["RS256"]}
        signing_input = f"{b64url_json(header)}.{b64url_json(claims)}"
        mac = hmac.new(self.public_pem("RS256"), signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64url(mac)}"

    @staticmethod
    def tamper(token: str, **changes: Any) -> str:
        """Change claims of a signed token, keeping the original header and signature."""
        header, payload, signature = token.split(".")
        claims = json.loads(b64url_decode(payload))
        claims.update(changes)
        return f"{header}.{b64url_json(claims)}.{signature}"

    # -- HTTP -----------------------------------------------------------------

    def _metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "jwks_uri": self.jwks_url,
            "token_endpoint": self.url + "/token",
            "response_types_supported": ["code"],
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                with issuer._lock:
                    issuer.hits[self.path] += 1
                    oauth_on, openid_on = issuer.serve_oauth_metadata, issuer.serve_openid_metadata
                if self.path == JWKS_PATH:
                    self._json(issuer.jwks())
                elif (self.path == OAUTH_METADATA_PATH and oauth_on) or (
                    self.path == OPENID_METADATA_PATH and openid_on
                ):
                    self._json(issuer._metadata())
                else:
                    self.send_error(404)

            def _json(self, value: Any) -> None:
                body = json.dumps(value).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # keep test output clean

        return Handler
