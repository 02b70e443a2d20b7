"""Which browser origins may open a WebSocket to the API (cross-site WebSocket hijacking).

Browsers apply no CORS to WebSocket handshakes, and a page on any site may open one with the
user's ambient credentials. Only two kinds of origin are let through: those configured in
BERTH_ALLOWED_ORIGINS, and the server's own public URL (BERTH_PUBLIC_URL), where GraphiQL is
served from. The `Host` header proves nothing: under DNS rebinding an attacker's page sends
`Origin: http://evil.test` with `Host: evil.test`, equal as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def normalize_origin(url: str) -> str | None:
    """`scheme://host[:port]` as browsers send it in `Origin` (lowercase, default port left
    out), of an origin or of any URL on it; None for what is not one (`null`, garbage)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


def allowed_origins(configured: Iterable[str], public_url: str | None) -> tuple[str, ...]:
    """The configured origins and the public URL's, normalized, without duplicates."""
    origins = [*configured, *([public_url] if public_url else [])]
    normalized = (normalize_origin(origin) for origin in origins)
    return tuple(dict.fromkeys(origin for origin in normalized if origin is not None))


def origin_allowed(origin: str | None, allowed: Iterable[str]) -> bool:
    """Whether a handshake with this `Origin` header may proceed."""
    if origin is None:
        return True  # not a browser: browsers always send Origin on WebSocket handshakes
    return normalize_origin(origin) in set(allowed)
