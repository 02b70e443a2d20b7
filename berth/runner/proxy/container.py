"""The `berth-proxy` container of a server: found by label, started or made when missing.

Caddy runs with `--resume`: it starts from the config it last loaded (its autosave), so a
proxy Docker restarts keeps routing; one made anew starts empty and gets its routes from
`berth.runner.proxy.control`. Its admin API listens on localhost inside the container
only and is reached by `docker exec`, which works alike on unix, tcp+TLS and ssh endpoints.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from berth.models import Server
from berth.runner import labels
from berth.runner.docker_api import (
    ContainerInfo,
    ContainerSpec,
    DockerApi,
    DockerOperationError,
    NotFound,
    RunnerError,
)
from berth.runner.proxy.caddy import ADMIN_ADDRESS, LISTEN_PORT
from berth.settings import Settings

DEFAULT_LISTEN = "0.0.0.0:80"
ADMIN_WAIT_SECONDS = 30.0
_POLL_SECONDS = 0.2

Report = Callable[[str], None]


class ProxyError(RunnerError):
    """The proxy could not be started, configured or read."""


def network_name() -> str:
    """The network routed containers join; one per installation on a daemon."""
    tag = labels.installation_tag()
    return f"berth-proxy-{tag}" if tag else "berth-proxy"


def container_name(server: Server) -> str:
    # Several Berth installations (or two server records) may share a daemon.
    tag = labels.installation_tag()
    return f"berth-proxy-{server.name}-{tag}" if tag else f"berth-proxy-{server.name}"


def listen_of(server: Server) -> str:
    return server.proxy_listen or DEFAULT_LISTEN


def proxy_spec(server: Server, settings: Settings) -> ContainerSpec:
    return ContainerSpec(
        name=container_name(server),
        image=settings.proxy_image,
        command=["caddy", "run", "--resume"],
        ports=[f"{listen_of(server)}:{LISTEN_PORT}"],
        labels=labels.proxy_labels(server.id),
        restart_policy="unless-stopped",
        network=network_name(),
    )


async def find_proxy(docker: DockerApi, server: Server) -> ContainerInfo | None:
    found = await docker.list_containers(labels.proxy_labels(server.id))
    running = [c for c in found if c.running]
    return (running or found)[0] if found else None


async def read_config(docker: DockerApi, container_id: str) -> dict[str, Any] | None:
    """The config Caddy runs now, from its admin API (None: it runs none yet)."""
    result = await docker.exec_in_container(
        container_id, ["wget", "-q", "-O-", f"http://{ADMIN_ADDRESS}/config/"], step_timeout=15)
    if result.exit_code != 0:
        raise ProxyError(f"the proxy's admin API did not answer: {result.output.strip() or result.exit_code}")
    try:
        config = json.loads(result.output or "null")
    except ValueError:
        raise ProxyError("the proxy's admin API answered something that is not JSON") from None
    return config if isinstance(config, dict) else None


async def _wait_admin(docker: DockerApi, container_id: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ADMIN_WAIT_SECONDS
    while True:
        try:
            await read_config(docker, container_id)
            return
        except (ProxyError, DockerOperationError) as exc:
            if loop.time() >= deadline:
                raise ProxyError(f"the proxy did not come up within {ADMIN_WAIT_SECONDS:g} s: {exc}") from None
        await asyncio.sleep(_POLL_SECONDS)


async def _make(docker: DockerApi, server: Server, settings: Settings, report: Report) -> ContainerInfo:
    spec = proxy_spec(server, settings)
    try:
        await docker.inspect_image(spec.image)
    except NotFound:
        report(f"pulling proxy image {spec.image}")
        await docker.pull(spec.image)
    report(f"starting proxy container {spec.name} ({spec.image}) on {listen_of(server)}")
    container_id = await docker.run_container(spec)
    return await docker.inspect_container(container_id)


async def ensure_proxy(docker: DockerApi, server: Server, settings: Settings,
                       report: Report = lambda text: None) -> tuple[ContainerInfo, bool]:
    """The server's running proxy, and whether it was (re)made empty just now."""
    try:
        await docker.ensure_network(network_name(), labels.proxy_network_labels())
        proxy = await find_proxy(docker, server)
        fresh = False
        if proxy is not None and not proxy.running:
            report(f"proxy container {proxy.name} is {proxy.state}: starting it")
            try:
                await docker.start_container(proxy.id)
            except DockerOperationError as exc:
                report(f"could not start {proxy.name} ({exc.message}): making it anew")
                await docker.remove_container(proxy.id, force=True)
                proxy = None
        if proxy is None:
            proxy, fresh = await _make(docker, server, settings, report), True
        await _wait_admin(docker, proxy.id)
        return await docker.inspect_container(proxy.id), fresh
    except DockerOperationError as exc:
        raise ProxyError(f"proxy: {exc.message}") from None
