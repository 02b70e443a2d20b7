"""The dashboard: the page at GET / and its files under /static/dashboard/.

A single page (berth/static/dashboard, see docs/dashboard.md) that talks to the public API
only: POST /graphql for queries and mutations, the graphql-transport-ws WebSocket for
subscriptions, and the artifact download. Its scripts are plain ES modules and vendored
browser builds (vendor/VENDORED.md); nothing is built, and nothing is loaded from elsewhere.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response

from berth.http.dashboard_oauth import oauth_client_config
from berth.settings import Settings

ASSET_DIR = Path(__file__).resolve().parent.parent / "static" / "dashboard"
ASSET_ROUTE = "/static/dashboard/{path:path}"
CONFIG_ROUTE = "/dashboard/config.json"

MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

# Same origin only, no inline script, no eval, no inline style attributes: the page's
# styles are one file, and scripts set layout through the CSSOM (allowed by style-src).
# connect-src 'self' covers POST /graphql, the artifact download and the WebSocket to the
# same host (CSP Level 3 matches ws:/wss: for 'self'); with OAuth sign-in, also the issuer's
# token endpoint, where the page exchanges its authorization code.
def content_security_policy(connect_origins: tuple[str, ...] = ()) -> str:
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            " ".join(("connect-src 'self'", *connect_origins)),
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


CONTENT_SECURITY_POLICY = content_security_policy()

# The page itself is never cached (an upgrade shows at the next load); its files for an hour.
ASSET_CACHE_CONTROL = "public, max-age=3600"


@cache
def served_assets() -> dict[str, str]:
    """Every file the page may load, by its path under ASSET_DIR: scripts and styles only
    (licence texts and notes stay in the package). A fixed table, so no request path ever
    reaches the file system."""
    assets: dict[str, str] = {}
    for path in sorted(ASSET_DIR.rglob("*")):
        media_type = MEDIA_TYPES.get(path.suffix)
        if path.is_file() and media_type is not None:
            assets[path.relative_to(ASSET_DIR).as_posix()] = media_type
    return assets


@cache
def dashboard_page_html() -> str:
    return (ASSET_DIR / "index.html").read_text(encoding="utf-8")


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def dashboard_page(request: Request) -> Response:
    oauth = await oauth_client_config(_settings(request))
    token_origin = oauth.token_origin if oauth else None
    return HTMLResponse(
        dashboard_page_html(),
        headers={
            "content-security-policy": content_security_policy((token_origin,) if token_origin else ()),
            "referrer-policy": "no-referrer",
            "x-frame-options": "DENY",
        },
    )


async def dashboard_asset(request: Request) -> Response:
    path = request.path_params["path"]
    media_type = served_assets().get(path)
    if media_type is None:
        return PlainTextResponse("Not Found", status_code=404)
    return FileResponse(
        ASSET_DIR / path,
        media_type=media_type,
        headers={"cache-control": ASSET_CACHE_CONTROL, "content-security-policy": CONTENT_SECURITY_POLICY},
    )


async def dashboard_config(request: Request) -> Response:
    """What the page cannot know by itself: whether it offers OAuth sign-in, and where."""
    oauth = await oauth_client_config(_settings(request))
    return JSONResponse({"oauth": oauth.as_json() if oauth else None})
