"""Headers every HTTP answer of the API carries (GraphQL, errors, artifact, health).

`X-Content-Type-Options: nosniff`: a browser must not reinterpret a JSON answer (which can
echo client text) as HTML or script. `Cache-Control: no-store`: answers are per credential
and may hold deployment records; no shared or browser cache keeps them. A response that
sets its own `Cache-Control` (a static asset, say) keeps it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULTS = ((b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store"))


class ApiResponseHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in DEFAULTS if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
