"""How a pull request's preview is kept apart from its service (the rules, in one place).

A preview deployment runs the service's configuration with these differences, all decided
when the deployment is queued and recorded in its frozen input:

- ports: every published port moves to an ephemeral port on the loopback address
  (`127.0.0.1::<container port>`): Docker picks a free host port, so a preview never takes
  (or fights production for) a fixed host port and is not reachable from outside the host;
  the address Docker chose is shown on the preview;
- named volumes: `<name>-preview-<preview id>`, so a preview never writes production's data
  (a host directory stays what it is: that is the operator's choice);
- COMPOSE: the project `berth-<project>-<environment>-<service>-pr<N>` (its own containers,
  networks and volumes), with the same port rule applied to the files' `ports`;
- a preview of a pull request from a fork gets no secret env values at all;
- route: a service with a `route` has its preview routed at `pr-<N>.<host>` (same path
  prefix, container port and compose service) on the same server's proxy, beside
  production's route (the proxy keys routes per lane, so neither replaces the other).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from berth.domain.grammars import GrammarError, parse_port, parse_volume

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class PreviewTarget:
    """What a preview deployment needs to know about its preview."""

    preview_id: int
    pull_request: int
    title: str | None
    head_ref: str
    head_sha: str
    base_ref: str
    author: str | None
    fork: bool
    # A ref of the base repository that holds the head commit (forks' commits live only there).
    fetch_ref: str | None = None

    def metadata(self, secrets_withheld: bool) -> dict[str, Any]:
        """`frozenInput.preview`."""
        return {
            "id": self.preview_id,
            "pullRequest": self.pull_request,
            "title": self.title,
            "headRef": self.head_ref,
            "headSha": self.head_sha,
            "baseRef": self.base_ref,
            "author": self.author,
            "fork": self.fork,
            "fetchRef": self.fetch_ref,
            "secretsWithheld": secrets_withheld,
            "ports": "ephemeral loopback",
        }


def loopback_port(spec: str) -> str:
    """A published port moved to an ephemeral loopback port; the container side is kept."""
    try:
        mapping = parse_port(spec)
    except GrammarError:
        return spec  # the API accepted it; the runner will say what is wrong with it
    container = str(mapping.container)
    return f"{LOOPBACK}::{container}/{mapping.protocol}"


def isolated_ports(ports: list[str] | None) -> list[str] | None:
    return [loopback_port(str(port)) for port in ports] if ports else ports


def volume_name(name: str, preview_id: int) -> str:
    return f"{name}-preview-{preview_id}"


def isolated_volumes(volumes: list[str] | None, preview_id: int) -> list[str] | None:
    """Named volumes renamed for the preview; host directories and anonymous volumes kept."""
    if not volumes:
        return volumes
    renamed = []
    for spec in volumes:
        try:
            mount = parse_volume(str(spec))
        except GrammarError:
            renamed.append(spec)
            continue
        if mount.host_bind or mount.source is None:
            renamed.append(spec)
            continue
        renamed.append(str(spec).replace(mount.source, volume_name(mount.source, preview_id), 1))
    return renamed


def compose_project_suffix(pull_request: int) -> str:
    return f"-pr{pull_request}"


def isolated_compose(document: dict[str, Any]) -> dict[str, Any]:
    """A compose document as a preview runs it: its services' ports on ephemeral loopback
    ports, and no fixed names (`container_name`, a volume's or network's own `name`, unless
    external): compose then names them all after the preview's project."""
    for section in ("volumes", "networks"):
        declared = document.get(section)
        if isinstance(declared, dict):
            for config in declared.values():
                if isinstance(config, dict) and not config.get("external"):
                    config.pop("name", None)
    services = document.get("services")
    if not isinstance(services, dict):
        return document
    for config in services.values():
        if not isinstance(config, dict):
            continue
        config.pop("container_name", None)
        ports = config.get("ports")
        if isinstance(ports, list):
            config["ports"] = [_compose_port(port) for port in ports]
    return document


def _compose_port(port: Any) -> Any:
    if isinstance(port, dict):  # the long syntax: target, published, host_ip, protocol
        return {key: value for key, value in port.items() if key not in ("published", "host_ip")} | {
            "host_ip": LOOPBACK
        }
    if isinstance(port, int):
        return f"{LOOPBACK}::{port}"
    return loopback_port(str(port))


def preview_host(host: str, pull_request: int) -> str:
    return f"pr-{pull_request}.{host}"


def isolated_route(route: dict[str, Any] | None, pull_request: int) -> dict[str, Any] | None:
    """The service's route as its preview is routed: the same, at `pr-<N>.<host>`."""
    if not route or not route.get("host"):
        return route
    return {**route, "host": preview_host(str(route["host"]), pull_request)}


def route_url(route: dict[str, Any] | None) -> str | None:
    """Where a routed deployment answers through the proxy, e.g. `http://pr-7.app.test/api`."""
    if not route or not route.get("host"):
        return None
    return f"http://{route['host']}{(route.get('pathPrefix') or '').rstrip('/')}"
