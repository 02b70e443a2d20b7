"""What the observer asks of a server's proxy: put it back when it is gone, record what it
reports (`Server.proxy`), and tell where each routed service's host goes, for drift."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from berth.models import Deployment, Server, Service
from berth.models.enums import DeploymentConclusion
from berth.runner.docker_api import COMPOSE_SERVICE_LABEL, ContainerInfo, DockerApi, RunnerError
from berth.runner.labels import DEPLOYMENT
from berth.runner.proxy.caddy import routes_in
from berth.runner.proxy.container import find_proxy, read_config
from berth.runner.proxy.control import record_status, restore_routes, upstream_of
from berth.settings import Settings

log = logging.getLogger("berth.observer")


async def observe_proxy(docker: DockerApi, server: Server, settings: Settings,
                        services: Sequence[Service]) -> dict[int, str | None] | None:
    """{service id: upstream its route points at now (None: not routed)} for the routed
    services among `services`; None when none has a route or the proxy cannot be read."""
    routed = [service for service in services if service.route]
    deployed = routed and await Deployment.filter(
        service_id__in=[s.id for s in routed], conclusion=DeploymentConclusion.SUCCEEDED).exists()
    if not deployed:
        return None  # a proxy starts with a routed service's first deployment, not before
    try:
        await restore_routes(docker, server, settings,
                             lambda text: log.info("observer: server %s: %s", server.name, text))
        proxy = await find_proxy(docker, server)
        config = await read_config(docker, proxy.id) if proxy is not None and proxy.running else None
    except RunnerError as error:
        log.info("observer: the proxy of server %s: %s", server.name, error)
        await record_status(docker, server, settings)
        return None
    await record_status(docker, server, settings)
    # Drift is about the service's own lane; its previews' routes are theirs.
    upstreams = {route.service_id: route.upstream for route in routes_in(config) if route.preview_id is None}
    return {service.id: upstreams.get(service.id) for service in routed}


def route_differences(frozen: Mapping[str, Any] | None, baseline_id: int | None,
                      containers: Sequence[ContainerInfo], actual: str | None) -> list[dict[str, str | None]]:
    """DRIFTED when the proxy sends the route's host anywhere but the baseline deployment's
    container (by hand, or a switch that did not happen)."""
    route = (frozen or {}).get("route")
    if not route or baseline_id is None:
        return []
    port = int(route["containerPort"])
    service = route.get("composeService")
    expected = sorted(upstream_of(c, port) for c in containers if c.labels.get(DEPLOYMENT) == str(baseline_id)
                      and (not service or c.labels.get(COMPOSE_SERVICE_LABEL) == service))
    if actual in expected:
        return []
    return [{"field": "route.upstream", "expected": expected[0] if expected else None, "actual": actual}]
