"""Caddy's JSON config for a server's routes, and the routes read back from it.

Pure data, no Docker: `berth.runner.proxy.control` loads what `config_for` builds and
hands what Caddy reports to `routes_in`. Each route carries the `@id` of its lane —
`berth-service-<id>` for the service itself, `berth-service-<id>-preview-<preview id>` for
one of its pull-request previews — so a lane's switch never replaces another lane's route.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

ADMIN_ADDRESS = "localhost:2019"
LISTEN_PORT = 80
SERVER_NAME = "berth"
_ROUTE_ID = re.compile(r"^berth-service-(\d+)(?:-preview-(\d+))?$")


Lane = tuple[int, int | None]
"""(service id, preview id or None): whose route it is; one route per lane."""


@dataclass(frozen=True)
class ProxyRoute:
    """One service's route as the proxy carries it: Host (and path prefix) -> upstream."""

    service_id: int
    host: str
    path_prefix: str | None
    upstream: str
    """host:port Caddy dials, e.g. `berth-web-12-1:8080` (a container on the proxy network)."""
    preview_id: int | None = None
    """The pull-request preview whose route this is (its lane); None: the service's own."""

    @property
    def lane(self) -> Lane:
        return (self.service_id, self.preview_id)


def route_id(service_id: int, preview_id: int | None = None) -> str:
    own = f"berth-service-{service_id}"
    return own if preview_id is None else f"{own}-preview-{preview_id}"


def _order(route: ProxyRoute) -> tuple[int, str, str]:
    # Caddy tries routes in order and stops at the first match (terminal): the longest
    # path prefix first, so `/api` of a host wins over the host's catch-all.
    return (-len(route.path_prefix or ""), route.host, route.path_prefix or "")


def config_for(routes: Iterable[ProxyRoute]) -> dict[str, Any]:
    """The whole config: admin on localhost only (reached by exec), HTTP on :80, no
    automatic HTTPS (the server's own TLS terminator, if any, sits in front)."""
    caddy_routes = []
    for route in sorted(routes, key=_order):
        match: dict[str, Any] = {"host": [route.host]}
        if route.path_prefix:
            match["path"] = [route.path_prefix.rstrip("/") + "*"]
        caddy_routes.append({
            "@id": route_id(route.service_id, route.preview_id),
            "match": [match],
            "handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": route.upstream}]}],
            "terminal": True,
        })
    return {
        "admin": {"listen": ADMIN_ADDRESS},
        "apps": {"http": {"servers": {SERVER_NAME: {
            "listen": [f":{LISTEN_PORT}"],
            "automatic_https": {"disable": True},
            "routes": caddy_routes,
        }}}},
    }


def routes_in(config: Mapping[str, Any] | None) -> list[ProxyRoute]:
    """Berth's routes in a config Caddy reports (`GET /config/`); others are ignored."""
    servers = (((config or {}).get("apps") or {}).get("http") or {}).get("servers") or {}
    found: list[ProxyRoute] = []
    for server in servers.values():
        for route in (server or {}).get("routes") or []:
            matched = _ROUTE_ID.match(str(route.get("@id") or ""))
            if not matched:
                continue
            match = (route.get("match") or [{}])[0]
            hosts = match.get("host") or []
            paths = match.get("path") or []
            dials = [upstream.get("dial") for handler in route.get("handle") or []
                     for upstream in handler.get("upstreams") or [] if upstream.get("dial")]
            if not hosts or not dials:
                continue
            prefix = str(paths[0]).removesuffix("*") if paths else None
            preview = int(matched.group(2)) if matched.group(2) else None
            found.append(ProxyRoute(int(matched.group(1)), str(hosts[0]), prefix or None, str(dials[0]), preview))
    return found
