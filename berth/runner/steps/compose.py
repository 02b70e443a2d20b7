"""The seven steps for COMPOSE services (CONTRACT §3): clone and validate the files (from a
repository), `build` and `pull` what applies, create the declared volumes, `up -d` as
project `berth-<project>-<environment>-<service>`, wait until every service's container
runs (healthy where it has a HEALTHCHECK), then record what runs.

`up -d` replaces the project's containers in place, so there is no starting beside the
previous version here: putting it back means `up -d` with the previous deployment's files.
"""

from __future__ import annotations

import dataclasses

from berth.domain.grammars import split_image
from berth.domain.privilege import compose_services, compose_violations, frozen_env
from berth.domain.registry_credentials import mark_used, registry_of
from berth.domain.routes import route_compose_problem
from berth.domain.validation import compose_profiles, parse_compose
from berth.models.enums import StepKind
from berth.runner import checkout_paths, labels, restore
from berth.runner.compose_cli import pullable_services
from berth.runner.docker_api import (
    COMPOSE_PROJECT_LABEL,
    CommandFailed,
    ComposeContainer,
    ComposeProject,
    DockerApi,
    DockerOperationError,
)
from berth.runner.health import HealthFailed, HealthGate, describe_failure
from berth.runner.registry_auth import auth_configs, is_auth_refusal, refused
from berth.runner.steps import clone as clone_step
from berth.runner.steps import compose_files, compose_routing, routing
from berth.runner.steps.clone import inside
from berth.runner.steps.containers import (
    bounded_health_spec,
    health_failure,
    previous_containers,
    remove_volumes_created,
    retire,
)
from berth.runner.steps.context import RunContext, StepFailure

MAX_FILE_BYTES = 256 * 1024


def project(ctx: RunContext) -> ComposeProject:
    route = routing.route_of(ctx)
    if route:
        compose_routing.choose_project(ctx)  # blue/green: this run's project name
    try:
        found = compose_files.project_for(ctx.frozen, ctx.env(), ctx.labels(), ctx.checkout,
                                          volume_labels=ctx.volume_labels)
    except compose_files.ComposeFilesError as exc:
        raise StepFailure(str(exc)) from None
    # Compose pulls (pull, build's FROM, up) with the project's registry credentials only.
    found = dataclasses.replace(found, registry_auths=auth_configs(ctx.registry_auths))
    return compose_routing.routed_project(ctx, found, route) if route else found


def _refused(ctx: RunContext, message: str) -> StepFailure:
    """A compose pull or build failure: REGISTRY_AUTH when a registry refused it."""
    if not is_auth_refusal(message):
        return StepFailure(message)
    # The registries of the images compose pulls (its message does not always name them).
    images = [str(config.get("image")) for config in compose_files.active_services(
        project(ctx).files, ctx.frozen.get("composeProfiles") or []).values() if config.get("image")]
    named = sorted({registry_of(image) for image in images})
    return refused(named, message, had_credentials=any(r in ctx.registry_auths for r in named))


def _check_files(ctx: RunContext, contents: dict[str, str]) -> set[str]:
    """Validate the compose files as the API validates inline content; returns their profiles.

    Each file is judged on its own (so merging them cannot add what one alone may not
    have), with the service's variables and the services of all files for `service:`."""
    documents = {}
    for path, content in contents.items():
        document = parse_compose(content)
        if isinstance(document, str):
            raise StepFailure(f"compose file {path}: {document}")
        documents[path] = document
    if not ctx.server.allow_privileged:
        services = set().union(*(compose_services(document) for document in documents.values()))
        env = frozen_env(ctx.frozen)
        for path, document in documents.items():
            violations = compose_violations(document, env, services)
            if violations:
                raise StepFailure(f"compose file {path}: " + "; ".join(v.message() for v in violations))
        assert ctx.checkout is not None  # files are read at CLONE only
        if problem := checkout_paths.compose_files_problem(ctx.checkout, documents, env, services):
            raise StepFailure(problem)
    return set().union(*(compose_profiles(document) for document in documents.values()))


# --------------------------------------------------------------------------- CLONE


async def clone(ctx: RunContext) -> str:
    detail = await clone_step.clone(ctx)
    checkout = ctx.checkout
    assert checkout is not None
    sha = str(ctx.frozen.get("commitSha") or "")[:12]
    files = []
    for entry in ctx.frozen.get("composeFiles") or []:
        path = str(entry["path"])
        content = entry.get("content")
        if content is None:  # replaying keeps the rendered files it recorded
            file = inside(checkout, path, "compose file")
            if not file.is_file():
                raise StepFailure(f"compose file {path} is not in the repository at {sha}")
            if file.stat().st_size > MAX_FILE_BYTES:
                raise StepFailure(f"compose file {path} is larger than {MAX_FILE_BYTES // 1024} KiB")
            try:
                content = file.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                raise StepFailure(f"compose file {path} is not UTF-8 text") from None
        files.append({"path": path, "content": content})
    if not files:
        raise StepFailure("the service lists no compose files")
    profiles = _check_files(ctx, {str(f["path"]): str(f["content"]) for f in files})
    for entry in files:
        ctx.log.system(f"compose file {entry['path']}: {len(str(entry['content']).encode())} bytes, valid")
    for profile in ctx.frozen.get("composeProfiles") or []:
        if profile not in profiles:
            raise StepFailure(f"profile {profile!r} is not used by any service in the compose files")
    if route := routing.route_of(ctx):
        # What the API could not check before the files were read (inline content it did).
        merged = compose_files.merged_services({str(f["path"]): str(f["content"]) for f in files})
        document = {"services": merged}
        if problem := route_compose_problem(route, document):
            raise StepFailure(problem)
    ctx.record_frozen(composeFiles=files)
    return f"{detail}; {len(files)} compose file{'s' if len(files) > 1 else ''}"


# --------------------------------------------------------------------------- BUILD / PULL


async def _mark_used(ctx: RunContext) -> None:
    if ctx.registry_auths:
        ctx.log.system(f"compose pulls with the project's credentials for {', '.join(sorted(ctx.registry_auths))}")
        await mark_used(ctx.registry_auths.values())


async def skip_build(ctx: RunContext) -> str | None:
    built = compose_files.built_services(project(ctx).files, ctx.frozen.get("composeProfiles") or [])
    return None if built else "no service is built here"


async def build(ctx: RunContext) -> str:
    docker = await ctx.docker()
    compose = project(ctx)
    try:
        await _mark_used(ctx)
        await docker.compose_build(compose, on_line=ctx.log.on_line(StepKind.BUILD), cancel=ctx.cancel,
                                   step_timeout=ctx.step_timeout(ctx.settings.step_deadlines.build))
    except (CommandFailed, DockerOperationError) as exc:
        raise _refused(ctx, ctx.log.mask(exc.message)) from None
    built = compose_files.built_services(compose.files, compose.profiles)
    return f"built {', '.join(built)}"


async def skip_pull(ctx: RunContext) -> str | None:
    return None if pullable_services(project(ctx)) != [] else "every service is built here"


async def pull(ctx: RunContext) -> str:
    docker = await ctx.docker()
    compose = project(ctx)
    try:
        await _mark_used(ctx)
        await docker.compose_pull(compose, on_line=ctx.log.on_line(StepKind.PULL), cancel=ctx.cancel,
                                  step_timeout=ctx.step_timeout(ctx.settings.step_deadlines.pull))
    except (CommandFailed, DockerOperationError) as exc:
        raise _refused(ctx, ctx.log.mask(exc.message)) from None
    pulled = pullable_services(compose)
    return f"pulled {', '.join(pulled)}" if pulled else "pulled"


# --------------------------------------------------------------------------- VOLUME


async def volumes(ctx: RunContext) -> str:
    """Named volumes the files declare: external ones must exist; plain ones are created with
    compose's own labels, the files' and ours (so compose adopts them without a warning; the
    override declares ours from here on, see `compose_files._volumes`); volumes with a
    driver of their own are left to compose."""
    docker = await ctx.docker()
    compose = project(ctx)
    created, reused, external = [], [], []
    try:
        for key, config in compose_files.declared_volumes(compose.files).items():
            if config.get("external"):
                ext = config["external"]
                name = str(config.get("name") or (ext.get("name") if isinstance(ext, dict) else None) or key)
                if not await docker.volume_exists(name):
                    raise StepFailure(f"external volume {name} does not exist on the server")
                external.append(name)
                continue
            name = str(config.get("name") or f"{compose.name}_{key}")
            if config.get("driver") or config.get("driver_opts") or "$" in name:
                continue
            present = await docker.inspect_volume(name)
            if present is not None:
                # Its labels stay those of the deployment that created it (who owns it).
                ctx.volume_labels[key] = labels.berth_labels(present.labels)
                reused.append(name)
                continue
            ctx.volume_labels[key] = ctx.labels()
            volume_labels = {**compose_files.label_map(config.get("labels")), **ctx.labels(),
                             COMPOSE_PROJECT_LABEL: compose.name, "com.docker.compose.volume": key}
            ctx.volumes_created = True
            await docker.create_volume(name, labels=volume_labels)
            created.append(name)
            ctx.log.system(f"created volume {name}")
    except DockerOperationError as exc:
        raise StepFailure(exc.message) from None
    parts = [f"created {', '.join(created)}"] if created else []
    parts += [f"reused {', '.join(reused)}"] if reused else []
    parts += [f"external {', '.join(external)}"] if external else []
    return "; ".join(parts) or "no named volumes"


# --------------------------------------------------------------------------- START


async def new_containers(ctx: RunContext, docker: DockerApi) -> list[ComposeContainer]:
    mine = str(ctx.deployment_id)
    found = await docker.compose_ps(str(ctx.frozen["composeProject"]))
    return sorted((c for c in found if c.container.labels.get(labels.DEPLOYMENT) == mine),
                  key=lambda c: (c.service, c.container.name))


async def start(ctx: RunContext) -> str:
    docker = await ctx.docker()
    compose = project(ctx)
    if routing.route_of(ctx):
        await routing.ensure_proxy_for(ctx, docker)  # its network must exist for `up`
    ctx.deploy_started = True
    try:
        await docker.compose_up(compose, on_line=ctx.log.on_line(StepKind.START), cancel=ctx.cancel,
                                step_timeout=ctx.step_timeout(ctx.settings.step_deadlines.start))
    except (CommandFailed, DockerOperationError) as exc:
        raise StepFailure(exc.message) from None
    started = await new_containers(ctx, docker)
    for item in started:
        ctx.output.follow(docker, item.container.id)
    return f"project {compose.name}: " + ", ".join(c.container.name for c in started)


# --------------------------------------------------------------------------- HEALTH


async def health(ctx: RunContext) -> str:
    docker = await ctx.docker()
    compose = project(ctx)
    started = await new_containers(ctx, docker)
    missing = set(compose_files.active_services(compose.files, compose.profiles)) - {c.service for c in started}
    if missing:
        raise StepFailure(f"no container runs for service {', '.join(sorted(missing))}")
    spec = bounded_health_spec(ctx)
    # The service's own probe goes to the container that publishes its port, if one does.
    probe = next((c.container.id for c in started
                  if any(p.container_port == spec.port for p in c.container.ports)), None)
    route = routing.route_of(ctx)
    if route:  # else to the routed service, on the proxy network
        probe = next((c.container.id for c in started if c.service == route["composeService"]), probe)
    gate = HealthGate(
        docker,
        [c.container.id for c in started],
        spec,
        docker_host=ctx.server.docker_host,
        stable_seconds=ctx.settings.stable_seconds,
        cancel=ctx.cancel,
        report=lambda text: ctx.log.system(text, StepKind.HEALTH),
        probe_container=probe,
        probe_via=routing.proxy_probe(ctx, docker) if route else None,
    )
    try:
        return await gate.wait()
    except HealthFailed as failed:
        raise health_failure(ctx, await describe_failure(docker, failed)) from None


# --------------------------------------------------------------------------- FINALIZE


async def _image_pins(docker: DockerApi, started: list[ComposeContainer]) -> dict[str, str]:
    """{service: repository@digest} of the images running, for an exact replay."""
    pins: dict[str, str] = {}
    for item in started:
        try:
            image = await docker.inspect_image(item.container.image_id)
        except DockerOperationError:
            continue
        repository = split_image(item.container.image)[0] if item.container.image else ""
        matching = [d for d in image.repo_digests if d.startswith(repository + "@")]
        if matching or len(image.repo_digests) == 1:
            pins[item.service] = (matching or list(image.repo_digests))[0]
    return pins


async def finalize(ctx: RunContext) -> str:
    docker = await ctx.docker()
    name = str(ctx.frozen["composeProject"])
    # Containers of the service from before it was a compose project of this name (with a
    # route: the other colour, once traffic has moved).
    others = [c for c in await previous_containers(ctx, docker) if c.labels.get(COMPOSE_PROJECT_LABEL) != name]
    switched: list[str] = []
    if route := routing.route_of(ctx):
        target = next((c.container for c in await new_containers(ctx, docker)
                       if c.service == route["composeService"]), None)
        if target is None:
            raise StepFailure(f"no container runs for compose service {route['composeService']}")
        switched.append(await routing.switch_traffic(ctx, docker, route, drain=any(c.running for c in others),
                                                     target=target))
    retired = await retire(ctx, docker, others)
    if route:
        await compose_routing.remove_old_networks(ctx, docker, name)
    started = await new_containers(ctx, docker)
    pins = await _image_pins(docker, started)
    if pins:
        ctx.record_frozen(**{compose_files.IMAGES_KEY: pins})
    if addresses := ctx.record_preview_addresses([c.container for c in started]):
        ctx.log.system(f"preview answers at {', '.join(addresses)}")
    states = [f"{c.service}: {c.container.state}" + (f" ({c.container.health})" if c.container.health else "")
              for c in started]
    return "; ".join(switched + states + ([f"retired {', '.join(retired)}"] if retired else []))


# --------------------------------------------------------------------------- undo


async def undo(ctx: RunContext, canceled: bool) -> str | None:
    note: str | None = None
    if ctx.deploy_started:
        docker = await ctx.docker()
        if routing.route_of(ctx):
            # Blue/green: the new colour goes, the serving one never stopped.
            await docker.compose_down(project(ctx), on_line=ctx.log.on_line(),
                                      step_timeout=ctx.settings.step_deadlines.start)
            note = (f"project {ctx.frozen['composeProject']} taken down; the previous version keeps "
                    "serving through the proxy (traffic was not switched)")
            ctx.log.system(note)
        elif canceled or ctx.auto_rollback:
            note = await restore.restore_compose(ctx, docker)
        else:
            note = await restore.take_down_compose(ctx, docker)
    # After the restore: the containers that mounted them are gone by now (`up` removes
    # orphans), and one the previous version mounts too is in use, so it stays.
    await remove_volumes_created(ctx)
    return note
