"""The loopback issuer of the JWT tests (tests/auth/issuer.py), made an authorization server
for the dashboard's sign-in: an authorization endpoint that approves at once (as a signed-in
user would) and a token endpoint that checks the PKCE verifier, open to the page by CORS."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.auth.issuer import Issuer

AUTHORIZE_PATH = "/authorize"
TOKEN_PATH = "/token"


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class AuthorizationServer(Issuer):
    def __init__(self, client_id: str, **claims: Any) -> None:
        self.client_id = client_id
        self.token_claims = claims
        self.grants: dict[str, Grant] = {}
        self.exchanges: list[dict[str, str]] = []  # the token requests, as received
        self.refuse_next = False
        self._grant_lock = threading.Lock()
        super().__init__()

    def _metadata(self) -> dict[str, Any]:
        return {**super()._metadata(), "authorization_endpoint": self.url + AUTHORIZE_PATH}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        base = super()._handler()
        server = self

        class Handler(base):  # type: ignore[misc, valid-type]
            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                if parts.path != AUTHORIZE_PATH:
                    super().do_GET()
                    return
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if query.get("client_id") != server.client_id or query.get("code_challenge_method") != "S256":
                    self.send_error(400)
                    return
                answer: dict[str, str] = {"state": query.get("state", "")}
                if server.refuse_next:
                    server.refuse_next = False
                    answer |= {"error": "access_denied", "error_description": "the user said no"}
                else:
                    code = secrets.token_urlsafe(16)
                    with server._grant_lock:
                        server.grants[code] = Grant(query["client_id"], query["redirect_uri"], query["code_challenge"])
                    answer["code"] = code
                self.send_response(302)
                self.send_header("Location", f"{query['redirect_uri']}?{urlencode(answer)}")
                self.end_headers()

            def do_POST(self) -> None:  # noqa: N802
                if urlsplit(self.path).path != TOKEN_PATH:
                    self.send_error(404)
                    return
                length = int(self.headers.get("content-length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                server.exchanges.append(form)
                with server._grant_lock:
                    grant = server.grants.pop(form.get("code", ""), None)
                valid = (
                    grant is not None
                    and form.get("grant_type") == "authorization_code"
                    and form.get("client_id") == grant.client_id
                    and form.get("redirect_uri") == grant.redirect_uri
                    and s256(form.get("code_verifier", "")) == grant.challenge
                )
                if not valid:
                    self._answer(400, {"error": "invalid_grant"})
                    return
                token = server.sign(server.claims(**server.token_claims))
                self._answer(200, {"access_token": token, "token_type": "Bearer", "expires_in": 300})

            def _answer(self, status: int, value: dict[str, Any]) -> None:
                body = json.dumps(value).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Access-Control-Allow-Origin", self.headers.get("origin") or "*")
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

        return Handler
