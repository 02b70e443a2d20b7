"""The HEALTH step's readiness gate (CONTRACT §3, Health).

A deployment is healthy when every new container runs without restarting and:
* reports `healthy` when its image has a HEALTHCHECK,
* answers the service's check (`HTTP` status in `expectedStatus`, default 200–399, or a
  `TCP` connect) when one is configured (`DOCKER` means the image's HEALTHCHECK only),
* with neither, stays running `stable_seconds` without a restart.
Both configured: both must pass. `intervalSeconds` spaces the probes, `timeoutSeconds`
bounds the whole wait. Probes go to the port's published address on the target host
(127.0.0.1 for a local socket), else, for a local target, to the container's address.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from berth.runner.docker_api import Canceled, CancelEvent, ContainerInfo, DockerApi, PortBinding
from berth.settings import Settings

# How often container state is looked at between probes.
INSPECT_SECONDS = 0.5
PROBE_TIMEOUT_SECONDS = 5.0
_WILDCARD_HOSTS = ("", "0.0.0.0", "::")


Probe = Callable[[ContainerInfo, int, str, float], Awaitable[tuple[int | None, str]]]
"""`probe(container, port, path, wait_seconds)` -> (HTTP status or None, summary): an HTTP
probe made from elsewhere, for containers the runner cannot reach (a routed container on a
remote server's proxy network is probed from its proxy)."""


class HealthFailed(Exception):
    """The gate did not pass; `container_id` names the container to take output lines from."""

    def __init__(self, message: str, container_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.container_id = container_id


@dataclass(frozen=True)
class HealthSpec:
    kind: str | None
    """HTTP, TCP, DOCKER, or None (no service check)."""
    port: int | None
    path: str
    expected_status: tuple[int, ...] | None
    timeout_seconds: float
    interval_seconds: float

    @classmethod
    def from_config(cls, config: dict[str, Any] | None, settings: Settings) -> HealthSpec:
        config = config or {}
        kind = str(config["kind"]).upper() if config.get("kind") else None
        expected = config.get("expectedStatus")
        return cls(
            kind=kind,
            port=int(config["port"]) if config.get("port") else None,
            path=config.get("path") or "/",
            expected_status=tuple(int(code) for code in expected) if expected else None,
            timeout_seconds=float(config.get("timeoutSeconds") or settings.health_default_timeout_seconds),
            interval_seconds=float(config.get("intervalSeconds") or settings.health_default_interval_seconds),
        )

    @property
    def probes(self) -> bool:
        return self.kind in ("HTTP", "TCP") and self.port is not None

    def within(self, seconds: float) -> HealthSpec:
        """The same check with its overall wait cut to `seconds` (the deployment's deadline)."""
        return dataclasses.replace(self, timeout_seconds=min(self.timeout_seconds, seconds))

    def status_ok(self, status: int) -> bool:
        return status in self.expected_status if self.expected_status else 200 <= status <= 399


def target_host(docker_host: str) -> str | None:
    """The host name of a remote Docker endpoint; None for a local unix socket."""
    parts = urlsplit(docker_host)
    if parts.scheme == "unix":
        return None
    return parts.hostname or None


def probe_address(container: ContainerInfo, port: int, docker_host: str) -> tuple[str, int] | None:
    """Where to reach the container's `port` from here, or None when it cannot be reached."""
    remote = target_host(docker_host)
    binding: PortBinding | None = next(
        (b for b in container.ports if b.container_port == port and b.protocol == "tcp"), None
    )
    if binding is not None:
        if remote is not None:
            return remote, binding.host_port
        host = "127.0.0.1" if binding.host_ip in _WILDCARD_HOSTS else binding.host_ip
        return host, binding.host_port
    if remote is None and container.ip_address:
        return container.ip_address, port
    return None


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def probe_http(host: str, port: int, spec: HealthSpec, wait_seconds: float) -> tuple[bool, str]:
    url = f"http://{url_host(host)}:{port}{spec.path}"
    try:
        # trust_env=False: a proxy from our environment must not answer for the app.
        # verify=False: the probe speaks plain http only, and a verifying TLS context would
        # load the CA bundle on every probe (≈ 50 ms of the event loop each time).
        async with httpx.AsyncClient(timeout=wait_seconds, trust_env=False, follow_redirects=False,
                                     verify=False) as client:
            response = await client.get(url)
    except httpx.HTTPError as exc:
        return False, f"GET {url}: {type(exc).__name__}: {str(exc) or 'no answer'}"
    return spec.status_ok(response.status_code), f"GET {url} -> HTTP {response.status_code}"


async def probe_tcp(host: str, port: int, wait_seconds: float) -> tuple[bool, str]:
    address = f"{url_host(host)}:{port}"
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=wait_seconds)
    except (OSError, TimeoutError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        return False, f"TCP connect {address}: {reason}"
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True, f"TCP connect {address}: connected"


@dataclass
class _Watch:
    container_id: str
    name: str = ""
    has_healthcheck: bool = False
    running_since: float | None = None
    health: str | None = None


class HealthGate:
    """Waits until the containers pass, or raises HealthFailed / Canceled."""

    def __init__(
        self,
        docker: DockerApi,
        container_ids: Sequence[str],
        spec: HealthSpec,
        *,
        docker_host: str,
        stable_seconds: float,
        cancel: CancelEvent,
        report: Callable[[str], None],
        probe_container: str | None = None,
        probe_via: Probe | None = None,
    ) -> None:
        self._docker = docker
        self._watches = [_Watch(cid) for cid in container_ids]
        self._spec = spec
        self._docker_host = docker_host
        self._stable_seconds = stable_seconds
        self._cancel = cancel
        self._report = report
        self._probe_container = probe_container or (container_ids[0] if container_ids else None)
        self._probe_via = probe_via

    async def wait(self) -> str:
        """Returns a one-line summary of what passed."""
        spec = self._spec
        if not self._watches:
            raise HealthFailed("there is no container to check")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + spec.timeout_seconds
        next_probe = loop.time()
        probe_ok = not spec.probes
        last_reason = "not checked yet"
        probe_summary = ""
        while True:
            if self._cancel.is_set():
                raise Canceled("health check was canceled")
            infos = [await self._inspect(watch) for watch in self._watches]
            waiting = [reason for watch, info in zip(self._watches, infos, strict=True)
                       if (reason := self._container_reason(watch, info))]
            if spec.probes and loop.time() >= next_probe:
                probe_ok, probe_summary = await self._probe(infos, deadline - loop.time())
                next_probe = loop.time() + spec.interval_seconds
                if not probe_ok:
                    waiting.append(probe_summary)
            elif not probe_ok:
                waiting.append(probe_summary)
            if not waiting:
                return self._summary(probe_summary)
            last_reason = waiting[0]
            if loop.time() >= deadline:
                raise HealthFailed(f"not healthy within {spec.timeout_seconds:g} s: {last_reason}",
                                   self._watches[0].container_id)
            wake = min(next_probe if spec.probes else loop.time() + INSPECT_SECONDS,
                       loop.time() + INSPECT_SECONDS, deadline)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._cancel.wait(), timeout=max(0.05, wake - loop.time()))

    async def _inspect(self, watch: _Watch) -> ContainerInfo:
        info = await self._docker.inspect_container(watch.container_id)
        if not watch.name:
            watch.name = info.name
            try:
                watch.has_healthcheck = (await self._docker.inspect_image(info.image_id)).has_healthcheck
            except Exception:  # the image is gone or unreadable: rely on the reported health
                watch.has_healthcheck = info.health is not None
        return info

    def _container_reason(self, watch: _Watch, info: ContainerInfo) -> str | None:
        """Why this container does not pass yet (None: it does); raises when it never will."""
        # The containers are new: any restart at all means the process died.
        detail = f" ({info.error})" if info.error else ""
        if info.state in ("exited", "dead"):
            raise HealthFailed(f"container {info.name} exited with code {info.exit_code}{detail}", info.id)
        if info.state == "restarting" or info.restart_count > 0:
            # Docker has already started it again, which resets the exit code it reports.
            code = f", last exit code {info.exit_code}" if info.exit_code else ""
            raise HealthFailed(f"container {info.name} exited and was restarted "
                               f"({info.restart_count} restart{'s' if info.restart_count != 1 else ''}{code})"
                               f"{detail}", info.id)
        if info.state != "running":
            watch.running_since = None
            return f"container {info.name} is {info.state}"
        now = time.monotonic()
        if watch.running_since is None:
            watch.running_since = now
        if info.health != watch.health and info.health is not None:
            self._report(f"container {info.name}: health {info.health}")
            watch.health = info.health
        if watch.has_healthcheck or info.health is not None:
            if info.health == "unhealthy":
                output = f": {info.health_output}" if info.health_output else ""
                raise HealthFailed(f"container {info.name}: HEALTHCHECK reports unhealthy{output}", info.id)
            if info.health != "healthy":
                return f"container {info.name}: HEALTHCHECK is {info.health or 'starting'}"
            return None
        if not self._spec.probes:
            # No check at all: the container must stay up for a while without restarting.
            if now - watch.running_since < self._stable_seconds:
                return f"container {info.name} running for less than {self._stable_seconds:g} s"
        return None

    async def _probe(self, infos: Sequence[ContainerInfo], left: float) -> tuple[bool, str]:
        spec = self._spec
        assert spec.port is not None
        info = next((i for i in infos if i.id == self._probe_container), infos[0])
        address = probe_address(info, spec.port, self._docker_host)
        timeout = max(0.5, min(PROBE_TIMEOUT_SECONDS, left))
        if address is None and self._probe_via is not None and spec.kind == "HTTP":
            status, summary = await self._probe_via(info, spec.port, spec.path, timeout)
            ok = status is not None and spec.status_ok(status)
            self._report(f"probe {summary}{'' if ok else ' (not ready)'}")
            return ok, summary
        if address is None:
            raise HealthFailed(
                f"port {spec.port} of container {info.name} is neither published nor reachable "
                f"from the runner: publish it to probe a remote server", info.id)
        host, port = address
        if spec.kind == "HTTP":
            ok, summary = await probe_http(host, port, spec, timeout)
        else:
            ok, summary = await probe_tcp(host, port, timeout)
        self._report(f"probe {summary}{'' if ok else ' (not ready)'}")
        return ok, summary

    def _summary(self, probe_summary: str) -> str:
        parts = []
        for watch in self._watches:
            if watch.has_healthcheck or watch.health is not None:
                parts.append(f"{watch.name} healthy")
            elif not self._spec.probes:
                parts.append(f"{watch.name} running {self._stable_seconds:g} s")
            else:
                parts.append(f"{watch.name} running")
        if probe_summary:
            parts.append(probe_summary)
        return "; ".join(parts)


TAIL_LINES = 20


async def describe_failure(docker: DockerApi, failed: HealthFailed) -> str:
    """The failure with the last output lines of the container it is about."""
    if not failed.container_id:
        return failed.message
    try:
        info = await docker.inspect_container(failed.container_id)
        lines = await docker.tail_logs(failed.container_id, TAIL_LINES)
    except Exception:  # gone already: the reason alone must do
        return failed.message
    if not lines:
        return f"{failed.message}\n(container {info.name} printed nothing)"
    output = "\n".join(line.text for line in lines)
    return f"{failed.message}\nlast output of container {info.name}:\n{output}"
