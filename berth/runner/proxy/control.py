"""Moving a service's route to a new upstream, in one config load, and reading the routes
back from Caddy (what `Server.proxy` reports).

The config loaded is what Caddy routes now (read from its admin API) with one lane's route
replaced (a lane: the service itself, or one of its pull-request previews); routes a freshly made proxy lost are rebuilt from Docker (the running
container of each routed service's newest successful deployment). Loads on one server
are serialized within this process.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from berth.models import Deployment, Server, Service
from berth.models.enums import DeploymentConclusion, PreviewStatus
from berth.models.git import PreviewEnvironment
from berth.runner import labels
from berth.runner.docker_api import COMPOSE_SERVICE_LABEL, ContainerInfo, DockerApi, DockerOperationError
from berth.runner.proxy.caddy import Lane, ProxyRoute, config_for, routes_in
from berth.runner.proxy.container import (
    ProxyError,
    Report,
    ensure_proxy,
    find_proxy,
    listen_of,
    read_config,
)
from berth.settings import Settings

CONFIG_PATH = "/berth/caddy.json"
_locks: dict[int, asyncio.Lock] = {}


def upstream_of(container: ContainerInfo, port: int) -> str:
    return f"{container.name}:{port}"


async def load_config(docker: DockerApi, container_id: str, routes: Sequence[ProxyRoute]) -> None:
    """One `caddy reload`: Caddy swaps the whole config at once and lets requests in
    flight finish on the old one."""
    body = json.dumps(config_for(routes), indent=1).encode()
    await docker.put_file(container_id, CONFIG_PATH, body)
    result = await docker.exec_in_container(container_id, ["caddy", "reload", "--config", CONFIG_PATH, "--force"])
    if result.exit_code != 0:
        raise ProxyError(f"the proxy refused the new config: {result.output.strip()[-500:]}")


async def _rebuilt_route(docker: DockerApi, service: Service, preview_id: int | None = None) -> ProxyRoute | None:
    """A lane's route as it should be when the proxy lost it: to the container of the lane's
    newest successful deployment (the observer's baseline), as that deployment froze it.
    The service's own lane never looks at its previews' deployments, nor a preview at others."""
    lane = Deployment.filter(service_id=service.id, conclusion=DeploymentConclusion.SUCCEEDED)
    lane = lane.filter(preview_id=preview_id) if preview_id is not None else lane.filter(preview_id__isnull=True)
    latest = await lane.order_by("-concluded_at", "-id").first()
    route = (latest.frozen_input or {}).get("route") if latest is not None else None
    if latest is None or not route:
        return None
    wanted: dict[str, str | None] = dict(labels.deployment_filter(latest.id))
    if route.get("composeService"):
        wanted[COMPOSE_SERVICE_LABEL] = str(route["composeService"])
    for container in await docker.list_containers(wanted, all=False):
        return ProxyRoute(service.id, str(route["host"]), route.get("pathPrefix"),
                          upstream_of(container, int(route["containerPort"])), preview_id)
    return None


async def _routed_lanes(server: Server) -> dict[Lane, Service]:
    """The lanes that keep a route: each routed service of the server, and each of its
    ACTIVE previews (a closed preview's route goes with its teardown)."""
    routed = await Service.filter(server_id=server.id, deleted_at__isnull=True, route__isnull=False)
    by_id = {service.id: service for service in routed}
    lanes: dict[Lane, Service] = {(service.id, None): service for service in routed}
    previews = await PreviewEnvironment.filter(service_id__in=list(by_id), status=PreviewStatus.ACTIVE)
    for preview in previews:
        lanes[(preview.service_id, preview.id)] = by_id[preview.service_id]
    return lanes


async def _apply(docker: DockerApi, server: Server, settings: Settings, route: ProxyRoute | None,
                 report: Report, drop: Lane | None = None) -> int | None:
    """Ensure the proxy, complete the routes it lacks, put `route` in (if given), leave
    `drop`'s out, and load the result when anything changed; returns the milliseconds of
    the load (None: none)."""
    lock = _locks.setdefault(server.id, asyncio.Lock())
    async with lock:
        proxy, fresh = await ensure_proxy(docker, server, settings, report)
        current = {r.lane: r for r in routes_in(await read_config(docker, proxy.id))}
        wanted = dict(current)
        lanes = await _routed_lanes(server)
        for lane, service in lanes.items():
            if lane not in wanted and lane != drop and (route is None or lane != route.lane):
                if (rebuilt := await _rebuilt_route(docker, service, lane[1])) is not None:
                    wanted[lane] = rebuilt
        if fresh:
            others = len(wanted) - (1 if route is not None and route.lane in wanted else 0)
            report(f"proxy is new: restored {others} route{'s' if others != 1 else ''}")
        if route is not None:
            wanted[route.lane] = route
        # Only lanes that still have a route keep one (a deleted service, a closed preview).
        keep = set(lanes) | ({route.lane} if route is not None else set())
        wanted = {lane: r for lane, r in wanted.items() if lane in keep and lane != drop}
        if wanted == current:
            return None
        started = time.monotonic()
        try:
            await load_config(docker, proxy.id, list(wanted.values()))
        except DockerOperationError as exc:
            raise ProxyError(f"proxy: {exc.message}") from None
        return round((time.monotonic() - started) * 1000)


async def set_route(docker: DockerApi, server: Server, settings: Settings, route: ProxyRoute,
                    report: Report = lambda text: None) -> int:
    """Make the proxy send `route`'s host (and prefix) to its upstream; returns the
    milliseconds the config load took."""
    elapsed = await _apply(docker, server, settings, route, report)
    await record_status(docker, server, settings)
    return elapsed or 0


async def restore_routes(docker: DockerApi, server: Server, settings: Settings,
                         report: Report = lambda text: None) -> None:
    """The proxy running with every routed service's route (the observer's repair after
    the proxy was removed or stopped by hand); routes it has are left as they are."""
    await _apply(docker, server, settings, None, report)


async def drop_preview_route(docker: DockerApi, server: Server, settings: Settings, service_id: int,
                             preview_id: int) -> bool:
    """A preview's teardown: its route leaves the proxy in one config load, the other lanes'
    stay. No proxy running: nothing routes there, and none is started for this. Returns
    whether a config was loaded."""
    proxy = await find_proxy(docker, server)
    if proxy is None or not proxy.running:
        return False
    return await _apply(docker, server, settings, None, lambda text: None, drop=(service_id, preview_id)) is not None


async def routed_upstream(docker: DockerApi, server: Server, service_id: int) -> str | None:
    """Where the proxy sends a service's route now (None: no proxy or no such route)."""
    proxy = await find_proxy(docker, server)
    if proxy is None or not proxy.running:
        return None
    for route in routes_in(await read_config(docker, proxy.id)):
        if route.lane == (service_id, None):
            return route.upstream
    return None


# ---------------------------------------------------------------- what Server.proxy shows


def _state(proxy: ContainerInfo | None, answered: bool) -> str:
    if proxy is None:
        return "ABSENT"
    if proxy.state in ("exited", "dead"):
        return "FAILED"
    return "RUNNING" if proxy.running and answered else "STARTING"


async def proxy_status(docker: DockerApi, server: Server, settings: Settings) -> dict[str, Any]:
    """The proxy as Docker and Caddy report it, in the stored `Server.proxy_status` form."""
    proxy = await find_proxy(docker, server)
    routes: list[ProxyRoute] = []
    answered = False
    if proxy is not None and proxy.running:
        try:
            routes = routes_in(await read_config(docker, proxy.id))
            answered = True
        except (ProxyError, DockerOperationError):
            answered = False
    deployments = await _deployments_by_container(docker)
    return {
        "state": _state(proxy, answered),
        "image": proxy.image if proxy is not None else None,
        "httpAddress": listen_of(server) if proxy is not None else None,
        "upstreams": [
            {"host": r.host, "pathPrefix": r.path_prefix, "upstream": r.upstream,
             "deploymentId": deployments.get(r.upstream.rsplit(":", 1)[0])}
            for r in routes
        ],
        "checkedAt": datetime.now(UTC).isoformat(),
    }


async def _deployments_by_container(docker: DockerApi) -> Mapping[str, int]:
    found = await docker.list_containers({**labels.managed_filter(), labels.DEPLOYMENT: None})
    return {c.name: int(c.labels[labels.DEPLOYMENT]) for c in found
            if c.labels.get(labels.DEPLOYMENT, "").isdigit()}


async def record_status(docker: DockerApi, server: Server, settings: Settings) -> None:
    """Store what the proxy reports now (best effort: a read that fails leaves the last)."""
    try:
        status = await proxy_status(docker, server, settings)
    except DockerOperationError:
        return
    await Server.filter(id=server.id).update(proxy_status=status)
