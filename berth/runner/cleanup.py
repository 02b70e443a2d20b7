"""Removing what one deployment left on a Docker host, found by its labels.

Used after a failed or canceled run (before or after the previous version is put back)
and when a deployment whose runner was lost is reclaimed. Only what carries the
deployment's own id goes: the containers it started, the volumes it created (a volume
it found already there carries the id of the deployment that created it, so it stays)
and, for compose, the project's networks once no container uses them. A volume still in
use (the restored previous version mounts it) is kept and said so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from berth.runner import labels
from berth.runner.docker_api import COMPOSE_PROJECT_LABEL, DockerApi, RunnerError


@dataclass
class Removed:
    """What a cleanup removed, by kind, and what it could not remove (sentences)."""

    containers: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> list[str]:
        """One sentence per kind removed, then the problems."""
        parts = [f"removed its {kind}: {', '.join(names)}"
                 for kind, names in (("containers", self.containers), ("volumes", self.volumes),
                                     ("networks", self.networks)) if names]
        return parts + self.problems


async def remove_containers(docker: DockerApi, deployment_id: int, into: Removed) -> None:
    """Every container labelled with the deployment (any attempt)."""
    try:
        containers = await docker.list_containers(labels.deployment_filter(deployment_id))
    except RunnerError as error:
        into.problems.append(f"could not list its containers: {error}")
        return
    for container in containers:
        try:
            await docker.remove_container(container.id, force=True)
            into.containers.append(container.name or container.id[:12])
        except RunnerError as error:
            into.problems.append(f"could not remove container {container.name}: {error}")


async def remove_created_volumes(docker: DockerApi, deployment_id: int, into: Removed) -> None:
    """The volumes this deployment created; call it once its containers are gone."""
    try:
        volumes = await docker.list_volumes(labels.deployment_filter(deployment_id))
    except RunnerError as error:
        into.problems.append(f"could not list its volumes: {error}")
        return
    for volume in volumes:
        try:
            if await docker.remove_volume(volume.name):
                into.volumes.append(volume.name)
        except RunnerError as error:
            into.problems.append(f"kept volume {volume.name}: {error}")


async def remove_idle_compose_networks(docker: DockerApi, project: str, into: Removed) -> None:
    try:
        into.networks.extend(await docker.remove_idle_networks({COMPOSE_PROJECT_LABEL: project}))
    except RunnerError as error:
        into.problems.append(f"could not remove the networks of {project}: {error}")


async def remove_leftovers(docker: DockerApi, deployment_id: int, compose_project: str | None) -> Removed:
    """All of it, for a deployment nobody is running any more (reclaim)."""
    removed = Removed()
    await remove_containers(docker, deployment_id, removed)
    await remove_created_volumes(docker, deployment_id, removed)
    if compose_project:
        await remove_idle_compose_networks(docker, compose_project, removed)
    return removed
