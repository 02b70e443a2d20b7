"""Routes through a server's proxy (issue 16): their rules, stored form and the listen address.

A route sends a host name (and optional path prefix) to one port of the service's
container; the runner switches it to a new version only once that version is healthy.
Checked here, in one place, before anything is stored; `route_conflict` is the one rule
that needs the database (another service of the server routing the same host and prefix).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from berth.domain import grammars
from berth.domain.errors import ErrorList, FieldPath
from berth.domain.grammars import GrammarError
from berth.domain.specs import RouteSpec
from berth.models import Service
from berth.models.enums import SourceType

DEFAULT_DRAIN_SECONDS = 10
MAX_DRAIN_SECONDS = 300
MAX_PATH_PREFIX = 256
# Lowercase DNS names of at least two labels (what a Host header names), no IP addresses:
# the proxy matches names, and a port or wildcard has no meaning here.
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$")
_PATH_PREFIX = re.compile(r"^/[A-Za-z0-9._~!$&'()+,;=:@%/-]*$")


def host_problem(host: str) -> str | None:
    if not _HOST.match(host or ""):
        return ("host must be a lowercase DNS name such as web.example.com "
                "(labels of letters, digits and '-', no port, no wildcard)")
    return None


def path_prefix_problem(prefix: str) -> str | None:
    if len(prefix) > MAX_PATH_PREFIX or not _PATH_PREFIX.match(prefix) or "//" in prefix:
        return (f"pathPrefix must start with '/', be at most {MAX_PATH_PREFIX} characters and hold "
                "only URL path characters (no '*', '?', '#' or whitespace)")
    return None


def normalized_prefix(prefix: str | None) -> str | None:
    """"/api/" and "/api" route the same requests; "/" is no prefix at all."""
    if prefix is None:
        return None
    return prefix.rstrip("/") or None


def fixed_host_ports(ports: Sequence[str]) -> list[int]:
    """Indexes of port specs that publish a fixed host port."""
    found = []
    for index, spec in enumerate(ports):
        try:
            if grammars.parse_port(spec).fixed_host_port:
                found.append(index)
        except GrammarError:
            continue  # reported by the ports check
    return found


def _compose_ports(document: Mapping[str, Any], service: str) -> list[str]:
    ports = ((document.get("services") or {}).get(service) or {}).get("ports") or []
    return [str(p) if not isinstance(p, dict) else
            (f"{p.get('published')}:{p.get('target')}" if p.get("published") else str(p.get("target")))
            for p in ports]


def route_compose_problem(route: Mapping[str, Any], document: Mapping[str, Any]) -> str | None:
    """A route's compose service against the compose document (the API checks inline
    content, the runner a repository's files at CLONE)."""
    service = str(route.get("composeService") or "")
    if service not in (document.get("services") or {}):
        return f"composeService {service!r} is not a service of the compose file"
    if fixed_host_ports(_compose_ports(document, service)):
        return (f"compose service {service!r} publishes a fixed host port: a routed service's versions "
                "run side by side, so only the proxy may hold the port")
    return None


def validate_route(
    route: RouteSpec,
    path: FieldPath,
    kind: SourceType | None,
    ports: Sequence[str] | None,
    document: Mapping[str, Any] | None,
) -> ErrorList:
    """`ports`: an IMAGE/DOCKERFILE service's; `document`: inline compose content (a
    repository's compose files are read at CLONE, where composeService is checked)."""
    errors = ErrorList()
    if problem := host_problem(route.host):
        errors.add([*path, "host"], problem)
    if route.path_prefix is not None and (problem := path_prefix_problem(route.path_prefix)):
        errors.add([*path, "pathPrefix"], problem)
    if not 1 <= route.container_port <= 65535:
        errors.add([*path, "containerPort"], "containerPort must be between 1 and 65535")
    if route.drain_seconds is not None and not 0 <= route.drain_seconds <= MAX_DRAIN_SECONDS:
        errors.add([*path, "drainSeconds"], f"drainSeconds must be between 0 and {MAX_DRAIN_SECONDS}")
    if kind is SourceType.COMPOSE:
        if not route.compose_service:
            errors.add([*path, "composeService"], "a COMPOSE service's route needs composeService")
        elif document is not None and (problem := route_compose_problem(
                {"composeService": route.compose_service}, document)):
            errors.add([*path, "composeService"], problem)
    elif kind is not None:
        if route.compose_service is not None:
            errors.add([*path, "composeService"], "composeService applies to COMPOSE services only")
        for index in fixed_host_ports(ports or []):
            errors.add([*path, "host"],
                       f"the service publishes a fixed host port (source.ports[{index}]): a routed service's "
                       "versions run side by side, so only the proxy may hold the port; drop it or the route")
            break
    return errors


def route_fields(route: RouteSpec) -> dict[str, Any]:
    """The stored (and frozen, and `Route`) form, the default drain filled in."""
    return {
        "host": route.host,
        "pathPrefix": normalized_prefix(route.path_prefix),
        "containerPort": route.container_port,
        "composeService": route.compose_service,
        "drainSeconds": DEFAULT_DRAIN_SECONDS if route.drain_seconds is None else route.drain_seconds,
    }


async def route_conflict(route: RouteSpec, server_id: int, service_id: int | None, path: FieldPath,
                         using_db: Any = None) -> ErrorList:
    """Another live service of the server routing the same host and prefix."""
    errors = ErrorList()
    prefix = normalized_prefix(route.path_prefix)
    others = Service.filter(server_id=server_id, deleted_at__isnull=True, route__isnull=False)
    if service_id is not None:
        others = others.exclude(id=service_id)
    for other in await (others.using_db(using_db) if using_db is not None else others):
        stored = other.route or {}
        if stored.get("host") == route.host and normalized_prefix(stored.get("pathPrefix")) == prefix:
            where = f" with pathPrefix {prefix}" if prefix else ""
            errors.add([*path, "host"], f"host {route.host}{where} is already routed by another service "
                                        f"of this server ({other.name})")
    return errors


def proxy_listen_problem(listen: str) -> str | None:
    """"0.0.0.0:80", "127.0.0.1:18080", "[::]:80": an address and a fixed port, in the one
    port grammar (what the proxy container publishes is `<listen>:80`)."""
    usage = "proxyListen must be host:port, e.g. 0.0.0.0:80 or 127.0.0.1:18080"
    if not listen or len(listen) > 64:
        return usage
    try:
        mapping = grammars.parse_port(f"{listen}:80")
    except GrammarError:
        return usage
    if mapping.host_ip is None or mapping.host is None or mapping.host.size != 1 or mapping.host.start == 0:
        return usage
    return None
