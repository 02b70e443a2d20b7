"""The two ways authentication and token granting refuse a request.

Messages are shown to the caller (401 bodies, `UserError.message`), so they
name the rule that failed and never echo a token, a signature or a key.
"""

from __future__ import annotations

# The challenge every 401 carries (CONTRACT §2); kept here so the HTTP and
# WebSocket layers cannot drift apart.
WWW_AUTHENTICATE = 'Bearer realm="berth", error="invalid_token"'


class InvalidCredential(Exception):
    """A credential was presented but cannot be accepted (HTTP 401, UNAUTHENTICATED)."""

    www_authenticate = WWW_AUTHENTICATE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TokenGrantError(Exception):
    """`createApiToken` / `berth token create` input refused; nothing was stored.

    `field` is the GraphQL input field name (`name`, `role`, `scopes`,
    `projectIds`, `expiresInDays`) so the resolver can build the `UserError.field`
    path; `code` is the `UserErrorCode` to report.
    """

    def __init__(self, field: str, message: str, code: str = "INVALID_INPUT") -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.code = code
