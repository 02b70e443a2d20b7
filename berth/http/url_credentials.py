"""Credentials in a URL's query string are refused (CONTRACT §2 names the only places for
them: the `Authorization` header and the `connection_init` payload).

A URL is written to access logs, proxy logs and browser history; a token there leaks. So a
request whose query string carries one is refused with a message saying where to put it,
and the access log never shows a query string anyway (berth.http.access_log).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from berth.auth.api_tokens import is_api_token

# Parameter names clients and libraries use for a credential (compared case-insensitively).
CREDENTIAL_PARAMETERS = frozenset({
    "access_token", "token", "api_token", "apikey", "api_key", "auth", "authorization", "bearer", "jwt",
})

REFUSAL = (
    "Credentials are not accepted in the URL (they end up in logs): send "
    "'Authorization: Bearer <token>' or, on a WebSocket, the connection_init payload "
    '{"authorization": "Bearer <token>"}.'
)


def credential_in_query(query_string: bytes | str) -> bool:
    """Whether the query string names a credential parameter or carries an API token."""
    text = query_string.decode("latin-1") if isinstance(query_string, bytes) else query_string
    if not text:
        return False
    for name, value in parse_qsl(text, keep_blank_values=True):
        if name.lower() in CREDENTIAL_PARAMETERS:
            return True
        stripped = value.strip()
        if is_api_token(stripped) or stripped.lower().startswith("bearer "):
            return True
    return False
