"""Putting the previous version back when a deployment does not finish (CONTRACT §3).

* canceled: previous containers this run stopped (fixed host port) start again;
* START/HEALTH failed with autoRollback: the previous successful deployment's containers
  run again — started if they are there, recreated from its frozen input if not
  (COMPOSE: `up -d` with its rendered files);
* failed with autoRollback off: the service is left without running containers.

Every function returns a sentence for the deployment's error and log.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from berth.models import Deployment
from berth.runner import labels
from berth.runner.docker_api import (
    ComposeProject,
    ContainerInfo,
    DockerApi,
    DockerOperationError,
    NotFound,
    RunnerError,
)
from berth.runner.proxy.container import network_name
from berth.runner.steps import compose_files
from berth.runner.steps.context import RunContext, decrypt_secrets, env_values
from berth.runner.steps.spec import container_name, container_spec

STOP_GRACE_SECONDS = 10


def _previous_labels(ctx: RunContext, previous: Deployment) -> dict[str, str]:
    return labels.deployment_labels(
        service_id=ctx.service.id,
        environment_id=ctx.records.environment.id,
        project_id=ctx.records.project.id,
        deployment_id=int(previous.id),
        attempt=previous.attempt,
        preview_id=ctx.preview_id,
    )


async def restart_stopped(ctx: RunContext, docker: DockerApi) -> str | None:
    """Start again the previous containers this run stopped; None when it stopped none."""
    started: list[str] = []
    for container_id in ctx.stopped_old:
        try:
            await docker.start_container(container_id)
            info = await docker.inspect_container(container_id)
            started.append(info.name)
            ctx.log.system(f"previous container {info.name} is running again")
        except DockerOperationError as exc:
            ctx.log.system(f"could not start previous container {container_id[:12]} again: {exc.message}")
    if not started:
        return None
    return f"previous container {', '.join(started)} running again"


async def _image_for(ctx: RunContext, docker: DockerApi, previous: Deployment) -> str | None:
    frozen = previous.frozen_input or {}
    for candidate in (frozen.get("imageDigest"), frozen.get("imageId")):
        if not candidate:
            continue
        try:
            await docker.inspect_image(str(candidate))
            return str(candidate)
        except NotFound:
            continue
    digest = frozen.get("imageDigest")
    if digest:
        ctx.log.system(f"pulling {digest} to restore deployment {ctx.name_of(previous.number)}")
        result = await docker.pull(str(digest), on_line=ctx.log.on_line(),
                                   step_timeout=ctx.settings.step_deadlines.pull)
        return result.image_id
    return None


async def restore_containers(ctx: RunContext, docker: DockerApi) -> str:
    previous = ctx.records.previous
    if previous is None:
        restarted = await restart_stopped(ctx, docker)
        return "no earlier successful deployment to roll back to" + (f"; {restarted}" if restarted else "")
    theirs = await docker.list_containers(labels.deployment_filter(int(previous.id)))
    try:
        if theirs:
            for container in theirs:
                if not container.running:
                    await docker.start_container(container.id)
            names = ", ".join(c.name for c in theirs)
            note = f"rolled back to deployment {ctx.name_of(previous.number)}: container {names} running"
        else:
            image = await _image_for(ctx, docker, previous)
            if image is None:
                return (f"could not roll back to deployment {ctx.name_of(previous.number)}: "
                        "its image is no longer on the server")
            frozen = previous.frozen_input or {}
            env = env_values(frozen, decrypt_secrets(previous.frozen_secrets_enc))
            name = container_name(ctx.service.name, int(previous.id), previous.attempt, ctx.pull_request)
            spec = container_spec(name, image, frozen, env, _previous_labels(ctx, previous))
            if frozen.get("route"):
                # Under the name the proxy routes to, on the proxy's network (berth.runner.proxy).
                spec = dataclasses.replace(spec, network=network_name())
            await docker.run_container(spec)
            note = f"rolled back to deployment {ctx.name_of(previous.number)}: recreated container {name}"
    except DockerOperationError as exc:
        note = f"rolling back to deployment {ctx.name_of(previous.number)} failed: {exc.message}"
    ctx.log.system(note)
    return note


async def leave_stopped(ctx: RunContext, docker: DockerApi, old: Sequence[ContainerInfo]) -> str:
    stopped = []
    for container in old:
        if container.running:
            await docker.stop_container(container.id, grace_seconds=STOP_GRACE_SECONDS)
            stopped.append(container.name)
    note = "autoRollback is off: the service is left without running containers"
    if stopped:
        note += f" (stopped previous container {', '.join(stopped)})"
    ctx.log.system(note)
    return note


async def restore_compose(ctx: RunContext, docker: DockerApi) -> str:
    """`up -d` with the previous successful deployment's rendered files, or, with none,
    `down` so that nothing of this deployment is left."""
    previous = ctx.records.previous
    current = _current_project(ctx)
    frozen = previous.frozen_input if previous is not None else None
    if previous is None or not frozen or frozen.get("sourceType") != "COMPOSE":
        await docker.compose_down(current, on_line=ctx.log.on_line(),
                                  step_timeout=ctx.settings.step_deadlines.start)
        note = "no earlier successful deployment to roll back to: the compose project was taken down"
        ctx.log.system(note)
        return note
    env = env_values(frozen, decrypt_secrets(previous.frozen_secrets_enc))
    try:
        project = compose_files.project_for(frozen, env, _previous_labels(ctx, previous), None,
                                            volume_labels=ctx.volume_labels)
    except compose_files.ComposeFilesError as exc:
        return f"could not roll back to deployment {ctx.name_of(previous.number)}: {exc}"
    ctx.log.system(f"rolling back to deployment {ctx.name_of(previous.number)}: compose up with its files")
    try:
        await docker.compose_up(project, on_line=ctx.log.on_line(),
                                step_timeout=ctx.settings.step_deadlines.start)
    except RunnerError as exc:
        return f"rolling back to deployment {ctx.name_of(previous.number)} failed: {exc.message}"
    note = f"rolled back to deployment {ctx.name_of(previous.number)}: its compose files are up again"
    ctx.log.system(note)
    return note


def _current_project(ctx: RunContext) -> ComposeProject:
    # Its variables too: a file may insist on one (${VAR:?}) even to take the project down.
    env = env_values(ctx.frozen, ctx.secrets)
    return compose_files.project_for(ctx.frozen, env, ctx.labels(), None, pin_images=False)


async def take_down_compose(ctx: RunContext, docker: DockerApi) -> str:
    project = _current_project(ctx)
    await docker.compose_down(project, on_line=ctx.log.on_line(), step_timeout=ctx.settings.step_deadlines.start)
    note = "autoRollback is off: the compose project was taken down"
    ctx.log.system(note)
    return note
