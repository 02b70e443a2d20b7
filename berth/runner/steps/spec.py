"""The container a frozen input describes (IMAGE and DOCKERFILE services)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from berth.domain.resources import limits_of, stored_resources
from berth.runner.docker_api import ContainerSpec


def container_name(service_name: str, deployment_id: int, attempt: int, pull_request: int | None = None) -> str:
    """One name per deployment and attempt, so a new container can start beside the old;
    a preview's say which pull request they run (`berth-web-pr7-41-1`)."""
    lane = f"-pr{pull_request}" if pull_request is not None else ""
    return f"berth-{service_name}{lane}-{deployment_id}-{attempt}"


def container_spec(
    name: str, image: str, frozen: Mapping[str, Any], env: Mapping[str, str], container_labels: Mapping[str, str]
) -> ContainerSpec:
    command = frozen.get("command")
    resources = frozen.get("resources")
    limits = limits_of(resources)
    return ContainerSpec(
        name=name,
        image=image,
        command=list(command) if command else None,
        env=dict(env),
        ports=list(frozen.get("ports") or []),
        volumes=list(frozen.get("volumes") or []),
        labels=dict(container_labels),
        restart_policy=str(stored_resources(resources)["restartPolicy"]),
        memory_bytes=limits.memory_bytes,
        nano_cpus=limits.nano_cpus,
        pids_limit=limits.pids_limit,
    )
