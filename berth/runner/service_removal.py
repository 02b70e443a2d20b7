"""Removing what a deleted service ran on its server (`deleteService`, CONTRACT additions).

The API only marks the service deleted: it may not reach Docker (scale-out). The observer,
on each periodic pass over a server, removes for each deleted service of that server every
container, then volume, carrying the service's id label (and this installation's), and the
idle networks of its compose projects. A pass that could not remove everything (server
unreachable, a volume still in use) leaves it for the next pass; once Docker shows nothing
left, a MISSING observation is stored (the service's last observed state, and the mark that
its removal is done, so later passes skip it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from berth.models import Deployment, Observation, Service
from berth.models.enums import DriftStatus
from berth.models.lifecycle import now
from berth.runner import labels
from berth.runner.cleanup import Removed, remove_idle_compose_networks
from berth.runner.docker_api import DockerApi, RunnerError

log = logging.getLogger("berth.observer")


@dataclass
class Removal:
    service: Service
    removed: Removed
    done: bool


async def pending_removals(server_id: int) -> list[Service]:
    """Deleted services of the server whose removal has not been observed complete."""
    deleted = await Service.filter(server_id=server_id, deleted_at__isnull=False).order_by("id")
    pending = []
    for service in deleted:
        newest = await Observation.filter(service_id=service.id).order_by("-observed_at", "-id").first()
        assert service.deleted_at is not None
        finished = (newest is not None and newest.drift == DriftStatus.MISSING
                    and newest.observed_at >= service.deleted_at)
        if not finished:
            pending.append(service)
    return pending


async def compose_projects(service_id: int) -> list[str]:
    rows = await Deployment.filter(service_id=service_id).only("id", "frozen_input")
    names = {row.frozen_input.get("composeProject") for row in rows if isinstance(row.frozen_input, dict)}
    return sorted(str(name) for name in names if name)


async def remove_service(docker: DockerApi, service: Service) -> Removal:
    """One attempt: containers first (they hold the volumes and networks), then the rest."""
    removed = Removed()
    wanted = labels.service_only_filter(service.id)
    try:
        for container in await docker.list_containers(wanted):
            await docker.remove_container(container.id, force=True)
            removed.containers.append(container.name or container.id[:12])
        for volume in await docker.list_volumes(wanted):
            if await docker.remove_volume(volume.name):
                removed.volumes.append(volume.name)
    except RunnerError as error:
        removed.problems.append(str(error))
    for project in await compose_projects(service.id):
        await remove_idle_compose_networks(docker, project, removed)
    try:
        left = bool(await docker.list_containers(wanted)) or bool(await docker.list_volumes(wanted))
    except RunnerError as error:
        removed.problems.append(str(error))
        left = True
    if removed.containers or removed.volumes or removed.networks or removed.problems:
        log.info("deleted service %s: %s", service.id, "; ".join(removed.summary()))
    return Removal(service, removed, done=not left)


async def record_removed(service: Service) -> Observation:
    return await Observation.create(
        service_id=service.id, observed_at=now(), drift=DriftStatus.MISSING, containers=[], differences=[],
        compared_with_id=None,
    )  # fmt: skip
