"""GraphiQL from the package itself: the page at GET /graphql (a browser) and its assets.

Strawberry's page loads React and GraphiQL from a CDN, so without internet access it is a
blank page. Berth serves a pinned copy of the same published builds (berth/static/graphiql,
see VENDORED.md there) from its own origin instead, under a Content-Security-Policy that
allows nothing else.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response

ASSET_DIR = Path(__file__).resolve().parent.parent / "static" / "graphiql"
# The page is served at /graphql and names its assets relative to it ("static/graphiql/…"),
# so they resolve here on the same origin (and under a path prefix, behind a proxy).
ASSET_ROUTE = "/static/graphiql/{name}"

# Only what the page loads is served; the licence notes stay in the package, not on the web.
ASSET_TYPES: dict[str, str] = {
    "react.production.min.js": "text/javascript; charset=utf-8",
    "react-dom.production.min.js": "text/javascript; charset=utf-8",
    "graphiql.min.js": "text/javascript; charset=utf-8",
    "graphiql.min.css": "text/css; charset=utf-8",
    "plugin-explorer.umd.js": "text/javascript; charset=utf-8",
    "plugin-explorer.css": "text/css; charset=utf-8",
    "berth-graphiql.js": "text/javascript; charset=utf-8",
    "page.css": "text/css; charset=utf-8",
}

# Same origin only. Styles allow inline because React sets style attributes; the editor's
# fonts are data: URLs inside graphiql.min.css; connect-src 'self' covers the POSTs to
# /graphql and the WebSocket to the same host (CSP Level 3 matches ws:/wss: for 'self').
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "font-src 'self' data:",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)

# The files are pinned: a day of caching spares reloads the 4 MB without hiding an upgrade long.
ASSET_CACHE_CONTROL = "public, max-age=86400"


@cache
def graphiql_page_html() -> str:
    return (ASSET_DIR / "index.html").read_text(encoding="utf-8")


def graphiql_page() -> HTMLResponse:
    return HTMLResponse(
        graphiql_page_html(),
        headers={
            "content-security-policy": CONTENT_SECURITY_POLICY,
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
        },
    )


async def graphiql_asset(request: Request) -> Response:
    name = request.path_params["name"]
    media_type = ASSET_TYPES.get(name)
    if media_type is None:
        return PlainTextResponse("Not Found", status_code=404)
    return FileResponse(
        ASSET_DIR / name,
        media_type=media_type,
        headers={"cache-control": ASSET_CACHE_CONTROL, "x-content-type-options": "nosniff"},
    )
