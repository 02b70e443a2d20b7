"""Caddy's JSON config for a server's routes, and the routes read back from it.

Pure data, no Docker: `berth.runner.proxy.control` loads what `config_for` builds and
hands what Caddy reports to `routes_in`. Each route carries `@id` `berth-service-<id>` so
the routes of other services survive when one service's upstream changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

ADMIN_ADDRESS = "localhost:2019"
LISTEN_PORT = 80
SERVER_NAME = "berth"
_ROUTE_ID = re.compile(r"^berth-service-(\d+)$")


@dataclass(frozen=True)
class ProxyRoute:
    """One service's route as the proxy carries it: Host (and path prefix) -> upstream."""

    service_id: int
    host: str
    path_prefix: str | None
    upstream: str
    """host:port Caddy dials, e.g. `berth-web-12-1:8080` (a container on the proxy network)."""


def route_id(service_id: int) -> str:
    return f"berth-service-{service_id}"


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
            "@id": route_id(route.service_id),
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
            found.append(ProxyRoute(int(matched.group(1)), str(hosts[0]), prefix or None, str(dials[0])))
    return found
