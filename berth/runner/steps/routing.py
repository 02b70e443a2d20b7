"""IMAGE and DOCKERFILE services with a route: the new container joins the proxy network
at START, HEALTH probes it there, and FINALIZE moves the route to it in one config load,
lets the old version drain, and only then retires it (issue 16).

Nothing here runs before FINALIZE that touches traffic: a failed or canceled START/HEALTH
leaves the proxy pointing at the old version, which was never stopped.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from berth.models.enums import StepKind
from berth.runner.docker_api import ContainerInfo, ContainerSpec, DockerApi
from berth.runner.health import Probe, url_host
from berth.runner.proxy.caddy import ProxyRoute
from berth.runner.proxy.container import ProxyError, ensure_proxy, find_proxy, network_name
from berth.runner.proxy.control import set_route, upstream_of
from berth.runner.steps.context import RunContext, StepFailure


def route_of(ctx: RunContext) -> dict[str, Any] | None:
    """The route the frozen input records (what a rollback replays)."""
    route = ctx.frozen.get("route")
    return dict(route) if route else None


async def ensure_proxy_for(ctx: RunContext, docker: DockerApi) -> None:
    """START: the proxy runs (made again when it disappeared), and with it its network."""
    try:
        await ensure_proxy(docker, ctx.server, ctx.settings, lambda text: ctx.log.system(text, StepKind.START))
    except ProxyError as exc:
        raise StepFailure(exc.message) from None


async def join_proxy_network(ctx: RunContext, docker: DockerApi, spec: ContainerSpec) -> ContainerSpec:
    """The new container joins the proxy's network, with no host port: the proxy is the way in."""
    await ensure_proxy_for(ctx, docker)
    return dataclasses.replace(spec, network=network_name())


def proxy_probe(ctx: RunContext, docker: DockerApi) -> Probe:
    """HEALTH on a remote server: the runner cannot reach the proxy network, the proxy can.
    HTTP only (busybox `wget -S` inside the proxy prints the status line)."""

    async def probe(container: ContainerInfo, port: int, path: str, wait_seconds: float) -> tuple[int | None, str]:
        proxy = await find_proxy(docker, ctx.server)
        if proxy is None or not proxy.running:
            return None, "the proxy is not running"
        url = f"http://{url_host(container.name)}:{port}{path}"
        seconds = str(max(1, int(wait_seconds)))
        result = await docker.exec_in_container(
            proxy.id, ["timeout", seconds, "wget", "-q", "-S", "-O", "/dev/null", url],
            step_timeout=wait_seconds + 5)
        for line in result.output.splitlines():
            words = line.split()
            if len(words) >= 2 and words[0].startswith("HTTP/") and words[1].isdigit():
                return int(words[1]), f"GET {url} (from the proxy) -> HTTP {words[1]}"
        return None, f"GET {url} (from the proxy): {result.output.strip()[-200:] or 'no answer'}"

    return probe


async def switch_traffic(ctx: RunContext, docker: DockerApi, route: dict[str, Any], *, drain: bool,
                         target: ContainerInfo | None = None) -> str:
    """FINALIZE: the route's upstream moves to the new container, then (`drain`: an old
    version runs) the old version serves what it has in flight for drainSeconds. Returns
    the step detail's part. `target`: the container that gets the traffic (COMPOSE: the
    route's compose service), by default the one this run started."""
    new = target or await docker.inspect_container(ctx.new_containers[0])
    upstream = upstream_of(new, int(route["containerPort"]))
    # Keyed by lane: a preview's switch leaves production's route alone, and the reverse.
    wanted = ProxyRoute(ctx.service.id, str(route["host"]), route.get("pathPrefix"), upstream, ctx.preview_id)
    try:
        elapsed = await set_route(docker, ctx.server, ctx.settings, wanted,
                                  lambda text: ctx.log.system(text, StepKind.FINALIZE))
    except ProxyError as exc:
        # The old version still serves: it must not be retired under the proxy.
        raise StepFailure(f"traffic not switched, the previous version keeps serving: {exc.message}") from None
    switched = f"traffic switched to {upstream} after {elapsed} ms"
    ctx.log.system(switched, StepKind.FINALIZE)
    seconds = int(route.get("drainSeconds") or 0)
    if drain and seconds > 0:
        ctx.log.system(f"previous version drains for {seconds} s", StepKind.FINALIZE)
        await asyncio.sleep(seconds)  # requests in flight on the old upstream finish meanwhile
    return switched
