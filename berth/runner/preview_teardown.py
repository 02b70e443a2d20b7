"""Removing what pull requests' previews ran, for sure (the observer calls this each pass).

- Idle previews (no pull-request event for BERTH_PREVIEW_TTL_HOURS) are closed first
  (`berth.domain.previews.close_idle`), like previews of deleted services.
- Teardown: a CLOSED preview on this server, once no deployment of it is queued or running
  (closing canceled them), first loses its route on the server's proxy (one config load,
  production's and other previews' routes untouched), then every container, then every volume, network and built
  image labelled with its id (and this installation's); its compose projects' networks go
  too. When Docker shows nothing of it left the preview becomes CLEANED with `cleanedAt`;
  otherwise (server unreachable, a volume in use) the next pass tries again.
- Sweep: any object labelled with a preview whose row is CLEANED, or that this database
  does not know, is removed the same way — whatever a crash, a lost runner or a teardown
  that raced a late deployment left behind. Only objects with this installation's label are
  looked at: a daemon shared with another Berth keeps that one's previews.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from berth.domain.previews import active_deployments, close_idle, close_services_deleted
from berth.models import Deployment, Server, Service
from berth.models.enums import PreviewStatus
from berth.models.git import PreviewEnvironment
from berth.models.lifecycle import now
from berth.runner import labels
from berth.runner.cleanup import Removed, remove_idle_compose_networks
from berth.runner.docker_api import DockerApi, DockerOperationError, RunnerError
from berth.runner.proxy.control import drop_preview_route
from berth.settings import Settings

log = logging.getLogger("berth.observer")


@dataclass
class Teardown:
    preview_id: int
    removed: Removed
    done: bool


async def close_expired(ttl_hours: float) -> int:
    """Close idle previews and those of deleted services; how many were closed."""
    return len(await close_idle(ttl_hours)) + len(await close_services_deleted())


async def pending_teardowns(server_id: int) -> list[PreviewEnvironment]:
    """CLOSED previews of the server's services with nothing of theirs queued or running."""
    services = await Service.filter(server_id=server_id).values_list("id", flat=True)
    closed = await PreviewEnvironment.filter(
        service_id__in=list(services), status=PreviewStatus.CLOSED
    ).order_by("id")
    return [preview for preview in closed if not await active_deployments(preview.id)]


async def _compose_projects(preview_id: int) -> list[str]:
    rows = await Deployment.filter(preview_id=preview_id).only("id", "frozen_input")
    names = {row.frozen_input.get("composeProject") for row in rows if isinstance(row.frozen_input, dict)}
    return sorted(str(name) for name in names if name)


async def remove_preview_objects(docker: DockerApi, preview_id: int, compose_projects: list[str]) -> Teardown:
    """One attempt at removing everything labelled with the preview."""
    removed = Removed()
    wanted = labels.preview_filter(preview_id)
    try:
        for container in await docker.list_containers(wanted):
            await docker.remove_container(container.id, force=True)
            removed.containers.append(container.name or container.id[:12])
        for volume in await docker.list_volumes(wanted):
            try:
                if await docker.remove_volume(volume.name):
                    removed.volumes.append(volume.name)
            except DockerOperationError as error:
                removed.problems.append(f"kept volume {volume.name}: {error}")
        removed.networks.extend(await docker.remove_idle_networks(wanted))
        for image in await docker.list_images(wanted):
            try:
                for tag in image.tags or (image.id,):
                    await docker.remove_image(tag)
            except DockerOperationError as error:
                removed.problems.append(f"kept image {image.id}: {error}")
    except RunnerError as error:
        removed.problems.append(str(error))
    for project in compose_projects:
        await remove_idle_compose_networks(docker, project, removed)
    try:
        left = any([await docker.list_containers(wanted), await docker.list_volumes(wanted),
                    await docker.list_networks(wanted)])
    except RunnerError as error:
        removed.problems.append(str(error))
        left = True
    if removed.containers or removed.volumes or removed.networks or removed.problems:
        log.info("preview %s: %s", preview_id, "; ".join(removed.summary()))
    return Teardown(preview_id, removed, done=not left)


async def tear_down(docker: DockerApi, preview: PreviewEnvironment, server: Server, settings: Settings) -> Teardown:
    """Remove a CLOSED preview's route and objects; CLEANED once none is left."""
    # The route first: the proxy must not send pr-<N>.<host> to containers being removed.
    route_problem = None
    try:
        await drop_preview_route(docker, server, settings, preview.service_id, preview.id)
    except RunnerError as error:
        route_problem = f"kept the route: {error}"
    teardown = await remove_preview_objects(docker, preview.id, await _compose_projects(preview.id))
    if route_problem is not None:
        teardown.removed.problems.append(route_problem)
        teardown.done = False  # the next pass tries the route again
    if teardown.done:
        # Guarded: a pull request reopened meanwhile made it ACTIVE again, and it stays so.
        await PreviewEnvironment.filter(id=preview.id, status=PreviewStatus.CLOSED).update(
            status=PreviewStatus.CLEANED, cleaned_at=now()
        )
    return teardown


async def _labelled_preview_ids(docker: DockerApi) -> set[int]:
    anything = labels.preview_filter()
    found: set[int] = set()
    for objects in (await docker.list_containers(anything), await docker.list_volumes(anything),
                    await docker.list_networks(anything), await docker.list_images(anything)):
        for item in objects:
            preview_id = labels.preview_id_of(item.labels)
            if preview_id is not None:
                found.add(preview_id)
    return found


async def sweep_orphans(docker: DockerApi) -> list[Teardown]:
    """Remove the objects of previews that are CLEANED or unknown here (see the module doc).
    The caller has loaded this installation's id (`labels.load_installation`)."""
    found = await _labelled_preview_ids(docker)
    if not found:
        return []
    rows = {row.id: row.status for row in await PreviewEnvironment.filter(id__in=sorted(found)).only("id", "status")}
    orphans = [pk for pk in sorted(found) if rows.get(pk) in (None, PreviewStatus.CLEANED)]
    swept = []
    for preview_id in orphans:
        teardown = await remove_preview_objects(docker, preview_id, await _compose_projects(preview_id))
        swept.append(teardown)
    return swept
