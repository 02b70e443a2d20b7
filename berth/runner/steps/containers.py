"""VOLUME, START, HEALTH and FINALIZE for services that run one container (IMAGE, DOCKERFILE),
and putting things right when START or HEALTH fails or the deployment is canceled.

Start and restore (CONTRACT §3): with no fixed host port the new container starts beside
the previous one, which is retired only once HEALTH has passed (FINALIZE); with a fixed
host port the previous one is stopped first, and started again if this run does not
finish (canceled, or failed with autoRollback).
"""

from __future__ import annotations

from collections.abc import Sequence

from berth.models.enums import ErrorCode, StepKind
from berth.runner import cleanup, labels, restore
from berth.runner.docker_api import (
    ContainerInfo,
    DockerApi,
    DockerOperationError,
    port_mappings,
    volume_mount,
)
from berth.runner.health import HealthFailed, HealthGate, HealthSpec, describe_failure
from berth.runner.steps import images, routing
from berth.runner.steps.context import RunContext, StepFailure
from berth.runner.steps.spec import container_name, container_spec

STOP_GRACE_SECONDS = 10


def has_fixed_host_port(ports: Sequence[str]) -> bool:
    return any(mapping.fixed_host_port for mapping in port_mappings(ports))


def health_spec(ctx: RunContext) -> HealthSpec:
    gate = ctx.frozen.get("readinessGate") or {}
    return HealthSpec.from_config(gate.get("healthCheck"), ctx.settings)


async def previous_containers(ctx: RunContext, docker: DockerApi) -> list[ContainerInfo]:
    """The containers of this deployment's lane (the service, or its preview) on this server
    that this deployment did not start."""
    mine = str(ctx.deployment_id)
    found = await docker.list_containers(ctx.service_filter())
    return [c for c in found if c.labels.get(labels.DEPLOYMENT) != mine and labels.in_lane(c.labels, ctx.preview_id)]


# --------------------------------------------------------------------------- VOLUME


async def volumes(ctx: RunContext) -> str:
    docker = await ctx.docker()
    created: list[str] = []
    reused: list[str] = []
    for spec in ctx.frozen.get("volumes") or []:
        try:
            mount = volume_mount(str(spec))
            if mount.host_bind or mount.source is None:
                continue  # a host directory, not a volume to create
            name = mount.source
            if await docker.volume_exists(name):
                reused.append(name)
            else:
                ctx.volumes_created = True
                await docker.create_volume(name, labels=ctx.labels())
                created.append(name)
        except DockerOperationError as exc:
            raise StepFailure(exc.message) from None
    for what, names in (("created", created), ("reusing", reused)):
        if names:
            ctx.log.system(f"{what} volume{'s' if len(names) > 1 else ''} {', '.join(names)}")
    parts = [f"created {', '.join(created)}"] if created else []
    parts += [f"reused {', '.join(reused)}"] if reused else []
    return "; ".join(parts) or "no named volumes"


# --------------------------------------------------------------------------- START


async def start(ctx: RunContext) -> str:
    docker = await ctx.docker()
    ports = list(ctx.frozen.get("ports") or [])
    env = ctx.env()
    try:
        if ctx.source_type == "DOCKERFILE":
            await images.ensure_build_tag(ctx, docker)
        if has_fixed_host_port(ports):
            # The host port can be bound once: the previous container makes way first.
            for old in await previous_containers(ctx, docker):
                if old.running:
                    ctx.log.system(f"stopping previous container {old.name} (fixed host port)")
                    ctx.stopped_old.append(old.id)
                    await docker.stop_container(old.id, grace_seconds=STOP_GRACE_SECONDS)
        name = container_name(ctx.service.name, ctx.deployment_id, ctx.attempt, ctx.pull_request)
        spec = container_spec(name, images.image_to_run(ctx), ctx.frozen, env, ctx.labels())
        if routing.route_of(ctx):
            spec = await routing.join_proxy_network(ctx, docker, spec)
        ctx.deploy_started = True
        ctx.log.system(f"starting container {name} from {spec.image}")
        container_id = await docker.run_container(spec)
    except DockerOperationError as exc:
        raise StepFailure(exc.message) from None
    ctx.new_containers.append(container_id)
    ctx.output.follow(docker, container_id)
    return f"container {name} ({container_id[:12]})"


# --------------------------------------------------------------------------- HEALTH


def bounded_health_spec(ctx: RunContext) -> HealthSpec:
    """The check, its wait cut short when the deployment's own deadline comes first."""
    spec = health_spec(ctx)
    return spec.within(ctx.step_timeout(spec.timeout_seconds))


def health_failure(ctx: RunContext, message: str) -> StepFailure:
    if ctx.time_left() <= 0:
        return StepFailure(f"the deployment ran past its {ctx.settings.step_deadlines.deployment:g} s deadline "
                           f"in HEALTH: {message}", ErrorCode.TIMEOUT)
    return StepFailure(message)


async def health(ctx: RunContext) -> str:
    docker = await ctx.docker()
    gate = HealthGate(
        docker,
        ctx.new_containers,
        bounded_health_spec(ctx),
        docker_host=ctx.server.docker_host,
        stable_seconds=ctx.settings.stable_seconds,
        cancel=ctx.cancel,
        report=lambda text: ctx.log.system(text, StepKind.HEALTH),
        probe_via=routing.proxy_probe(ctx, docker) if routing.route_of(ctx) else None,
    )
    try:
        return await gate.wait()
    except HealthFailed as failed:
        raise health_failure(ctx, await describe_failure(docker, failed)) from None


# --------------------------------------------------------------------------- FINALIZE


async def retire(ctx: RunContext, docker: DockerApi, old: Sequence[ContainerInfo]) -> list[str]:
    retired: list[str] = []
    for container in old:
        try:
            if container.running:
                await docker.stop_container(container.id, grace_seconds=STOP_GRACE_SECONDS)
            await docker.remove_container(container.id, force=True)
            retired.append(container.name)
            ctx.log.system(f"retired previous container {container.name}")
        except DockerOperationError as exc:
            ctx.log.system(f"could not retire previous container {container.name}: {exc.message}")
    return retired


async def finalize(ctx: RunContext) -> str:
    docker = await ctx.docker()
    old = await previous_containers(ctx, docker)
    switched: list[str] = []
    if route := routing.route_of(ctx):
        # Traffic first, then the old version retires (after draining what it has in flight).
        switched.append(await routing.switch_traffic(ctx, docker, route, drain=any(c.running for c in old)))
    retired = await retire(ctx, docker, old)
    states = []
    in_use: set[str] = set()
    running = []
    for container_id in ctx.new_containers:
        info = await docker.inspect_container(container_id)
        running.append(info)
        in_use.add(info.image_id)
        states.append(f"{info.name} {info.state}" + (f" ({info.health})" if info.health else ""))
    if addresses := ctx.record_preview_addresses(running):
        ctx.log.system(f"preview answers at {', '.join(addresses)}")
        states.append(f"at {', '.join(addresses)}")
    pruned: list[str] = []
    if ctx.source_type == "DOCKERFILE":
        pruned = await images.prune_built_images(ctx, docker, in_use)
        for image_id in pruned:
            ctx.log.system(f"removed old image {image_id}")
    parts = switched + states + ([f"retired {', '.join(retired)}"] if retired else [])
    parts += [f"pruned {len(pruned)} old image{'s' if len(pruned) != 1 else ''}"] if pruned else []
    return "; ".join(parts)


# --------------------------------------------------------------------------- undo


async def undo(ctx: RunContext, canceled: bool) -> str | None:
    """After a failed or canceled START/HEALTH: remove what this run started, then either
    put the previous version back or (autoRollback off) leave the service stopped."""
    if not ctx.deploy_started:
        await remove_volumes_created(ctx)
        if canceled and ctx.built_image:
            await images.remove_built_image(ctx, await ctx.docker())
        return None
    docker = await ctx.docker()
    # By label rather than by the ids we know: a create cut short by a cancel still counts.
    removed = cleanup.Removed()
    await cleanup.remove_containers(docker, ctx.deployment_id, removed)
    for name in removed.containers:
        ctx.log.system(f"removed container {name} of this deployment")
    for problem in removed.problems:  # e.g. already being removed: carry on restoring
        ctx.log.system(problem)
    await remove_volumes_created(ctx)
    if canceled:
        await images.remove_built_image(ctx, docker)
        return await restore.restart_stopped(ctx, docker)
    if ctx.auto_rollback:
        return await restore.restore_containers(ctx, docker)
    if routing.route_of(ctx):
        # The proxy never stopped sending traffic to the previous version: leave it serving.
        note = "the previous version keeps serving through the proxy (traffic was not switched)"
        ctx.log.system(note)
        return note
    return await restore.leave_stopped(ctx, docker, await previous_containers(ctx, docker))


async def remove_volumes_created(ctx: RunContext) -> None:
    """The named volumes this deployment created (found by label: a create cut short by a
    cancel still counts); volumes it found already there stay."""
    if not ctx.volumes_created:
        return
    removed = cleanup.Removed()
    await cleanup.remove_created_volumes(await ctx.docker(), ctx.deployment_id, removed)
    for name in removed.volumes:
        ctx.log.system(f"removed volume {name} created by this deployment")
    for problem in removed.problems:
        ctx.log.system(problem)
