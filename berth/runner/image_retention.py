"""Images retention (docs/retention.md): on each server, the newest N images of each service
stay, and so does every image a rollback still needs; the rest of what Berth put there goes.

What Berth put on a server: the images its deployments recorded in their frozen input (the
image id a build made or a pull fetched, the `repository@digest` an IMAGE or compose
deployment runs) and the images it built (carrying the service's labels). Nothing else on
the daemon is ever looked at.

Kept, per service (its own lane; a preview's images go with the preview's teardown):

* the images of its newest `keep` SUCCEEDED deployments (distinct images, newest first),
  then its newest built images up to `keep` in all;
* the current deployment's (the newest SUCCEEDED one, what runs) and the default rollback
  target's (`berth.domain.rollback.default_target`: what `rollbackDeployment` without a
  target, and an automatic rollback, go back to);
* the images of every deployment not concluded yet (a queued rollback replays an old one);
* every image any container on the server uses, running or stopped, Berth's or not.

Removal is never forced: Docker itself refuses an image a container uses. A rollback to an
older deployment whose image went still works, only slower: an IMAGE deployment pulls its
digest again, a DOCKERFILE one rebuilds its commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from berth.domain.rollback import default_target
from berth.models import Deployment, Server, Service
from berth.models.enums import DeploymentConclusion
from berth.models.lifecycle import TERMINAL_STATUSES
from berth.runner import labels
from berth.runner.docker_api import DockerApi, DockerOperationError, ImageInfo, NotFound, docker_time_ns

log = logging.getLogger("berth.retention")

EngineFactory = Callable[[Server], Awaitable[DockerApi]]
SERVER_TIMEOUT_SECONDS = 300.0
CONNECT_TIMEOUT_SECONDS = 30.0
COMPOSE_IMAGES_KEY = "composeImages"


def recorded_refs(frozen: Mapping[str, Any] | None) -> list[str]:
    """The image references a deployment's frozen input records (id, digest, compose pins)."""
    frozen = frozen or {}
    found = [str(frozen[key]) for key in ("imageId", "imageDigest") if frozen.get(key)]
    pins = frozen.get(COMPOSE_IMAGES_KEY)
    if isinstance(pins, Mapping):
        found += [str(pin) for pin in pins.values() if pin]
    return found


@dataclass(frozen=True)
class Doomed:
    """An image retention removes (or, dry run, would remove)."""

    image_id: str
    names: tuple[str, ...]
    service: str
    digests: tuple[str, ...] = ()

    def describe(self) -> str:
        shown = ", ".join(self.names or self.digests)
        return f"{shown} ({self.image_id[:19]}, {self.service})" if shown else f"{self.image_id[:19]} ({self.service})"


@dataclass
class ServerImages:
    server: str
    doomed: list[Doomed] = field(default_factory=list)
    removed: list[Doomed] = field(default_factory=list)
    kept_in_use: int = 0
    error: str | None = None


class _Resolver:
    """Recorded references as the daemon's images, each looked up once."""

    def __init__(self, engine: DockerApi) -> None:
        self.engine = engine
        self._seen: dict[str, ImageInfo | None] = {}

    async def image(self, ref: str) -> ImageInfo | None:
        if ref not in self._seen:
            try:
                self._seen[ref] = await self.engine.inspect_image(ref)
            except NotFound:
                self._seen[ref] = None
        return self._seen[ref]

    async def ids(self, refs: Iterable[str]) -> list[str]:
        found = []
        for ref in refs:
            info = await self.image(ref)
            if info is not None and info.id not in found:
                found.append(info.id)
        return found


async def _service_plan(service: Service, engine: DockerApi, resolver: _Resolver, keep: int,
                        infos: dict[str, ImageInfo]) -> tuple[set[str], list[str]]:
    """(ids to keep, ids Berth put there for the service) on this server."""
    succeeded = list(await Deployment.filter(
        service_id=service.id, conclusion=DeploymentConclusion.SUCCEEDED, preview_id=None
    ).order_by("-created_at", "-id").only("id", "frozen_input"))
    ordered: list[str] = []
    for deployment in succeeded:
        for image_id in await resolver.ids(recorded_refs(deployment.frozen_input)):
            if image_id not in ordered:
                ordered.append(image_id)
    built = [image for image in await engine.list_images(
        dict(labels.service_filter(service.id, service.environment_id)))  # type: ignore[attr-defined]
        if labels.in_lane(image.labels, None)]
    built.sort(key=lambda image: docker_time_ns(image.created) or 0, reverse=True)
    for image in built:
        infos.setdefault(image.id, image)
        if image.id not in ordered:
            ordered.append(image.id)
    for image_id in ordered:
        if image_id not in infos and (info := await resolver.image(image_id)) is not None:
            infos[image_id] = info
    keep_ids = set(ordered[:keep])
    needed = succeeded[:1]
    target = await default_target(service.id)
    if target is not None:
        needed.append(target)
    active = await Deployment.filter(service_id=service.id).exclude(status__in=list(TERMINAL_STATUSES)).only(
        "id", "frozen_input")
    for deployment in [*needed, *active]:
        keep_ids.update(await resolver.ids(recorded_refs(deployment.frozen_input)))
    return keep_ids, ordered


async def plan_server(server: Server, engine: DockerApi, keep: int) -> ServerImages:
    """What would go on one server (nothing removed)."""
    report = ServerImages(server.name)
    await labels.load_installation()
    resolver = _Resolver(engine)
    infos: dict[str, ImageInfo] = {}
    keep_ids: set[str] = set()
    owners: dict[str, str] = {}
    services = await Service.filter(server_id=server.id, deleted_at__isnull=True).order_by("id")
    for service in services:
        kept, ordered = await _service_plan(service, engine, resolver, keep, infos)
        keep_ids |= kept
        for image_id in ordered:
            owners.setdefault(image_id, service.name)
    in_use = {container.image_id for container in await engine.list_containers(all=True)}
    for image_id, service_name in owners.items():
        if image_id in keep_ids:
            continue
        if image_id in in_use:
            report.kept_in_use += 1
            continue
        info = infos.get(image_id)
        names = tuple(info.tags) if info is not None else ()
        digests = tuple(info.repo_digests) if info is not None else ()
        report.doomed.append(Doomed(image_id, names, service_name, digests))
    return report


async def remove(engine: DockerApi, doomed: Doomed) -> bool:
    """Remove one image by each of its tags (an untagged one by id), never forced."""
    try:
        for ref in doomed.names or (doomed.image_id,):
            await engine.remove_image(ref)
        if doomed.names:  # the last tag gone removes the image; one pulled by digest has none
            with contextlib.suppress(NotFound):
                await engine.remove_image(doomed.image_id)
    except DockerOperationError as error:
        log.info("retention: keeping image %s: %s", doomed.image_id[:19], error.message)
        return False
    return True


async def prune_server(server: Server, engine_factory: EngineFactory, keep: int, *,
                       dry_run: bool = False) -> ServerImages:
    """Plan (and unless `dry_run`, remove) one server's surplus images; an unreachable server
    is reported, never raised."""
    try:
        engine = await asyncio.wait_for(engine_factory(server), CONNECT_TIMEOUT_SECONDS)
    except Exception as error:
        return ServerImages(server.name, error=f"unreachable: {str(error) or type(error).__name__}"[:200])
    try:
        report = await asyncio.wait_for(plan_server(server, engine, keep), SERVER_TIMEOUT_SECONDS)
        if not dry_run:
            for doomed in report.doomed:
                if await remove(engine, doomed):
                    report.removed.append(doomed)
        return report
    except Exception as error:
        return ServerImages(server.name, error=f"{type(error).__name__}: {error}"[:200])
    finally:
        with contextlib.suppress(Exception):
            await engine.close()


async def prune_images(engine_factory: EngineFactory, keep: int, *, dry_run: bool = False) -> list[ServerImages]:
    """Every server, one after the other (images are removed seconds apart, not all at once)."""
    if keep <= 0:
        return []
    reports = []
    for server in await Server.all().order_by("id"):
        reports.append(await prune_server(server, engine_factory, keep, dry_run=dry_run))
    return reports
