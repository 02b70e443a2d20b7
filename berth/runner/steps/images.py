"""Images of IMAGE and DOCKERFILE services: PULL, BUILD, the replay shortcut, and pruning.

What a rollback replays is exact: an IMAGE deployment runs `repository@digest`, pulled by
digest when it is no longer on the server; a DOCKERFILE deployment runs the image id it
built, rebuilt from the recorded commit when that image is gone.
"""

from __future__ import annotations

from pathlib import Path

from berth.domain.grammars import split_image
from berth.domain.registry_credentials import mark_used, registry_of
from berth.models.enums import StepKind
from berth.runner import labels
from berth.runner.docker_api import DockerApi, DockerOperationError, ImageInfo, NotFound, docker_time_ns
from berth.runner.registry_auth import auth_configs, is_auth_refusal, refused
from berth.runner.steps import clone as clone_step
from berth.runner.steps.clone import inside
from berth.runner.steps.context import RunContext, StepFailure

BUILD_TAG_PREFIX = "berth/"


async def _present(docker: DockerApi, ref: str) -> ImageInfo | None:
    try:
        return await docker.inspect_image(ref)
    except NotFound:
        return None


# --------------------------------------------------------------------------- IMAGE


async def pull(ctx: RunContext) -> str:
    docker = await ctx.docker()
    pinned = ctx.frozen.get("imageDigest")
    reference = str(pinned or ctx.frozen.get("image") or "")
    if not reference:
        raise StepFailure("the deployment names no image")
    if pinned:
        # A digest names exactly one image: when it is here, there is nothing to fetch.
        present = await _present(docker, reference)
        if present is not None:
            ctx.log.system(f"{reference} is already on the server (image {present.id})")
            ctx.record(imageId=present.id)
            return reference
    registry = registry_of(reference)
    credential = ctx.registry_auths.get(registry)
    ctx.log.system(f"pulling {reference}" + (f" as {credential.username} (the project's credentials for "
                                             f"{registry})" if credential else ""))
    if credential is not None:
        await mark_used([credential])
    try:
        result = await docker.pull(
            reference,
            on_line=ctx.log.on_line(StepKind.PULL),
            cancel=ctx.cancel,
            step_timeout=ctx.step_timeout(ctx.settings.step_deadlines.pull),
            auth_config=credential.auth_config() if credential else None,
        )
    except DockerOperationError as exc:
        if is_auth_refusal(exc.message):
            raise refused([registry], exc.message, had_credentials=credential is not None) from None
        raise StepFailure(exc.message) from None
    repository = split_image(reference)[0]
    digest_ref = f"{repository}@{result.digest}" if result.digest else result.repo_digest
    ctx.record(imageDigest=digest_ref, imageId=result.image_id)
    ctx.log.system(f"pulled {digest_ref or reference} (image {result.image_id})")
    return digest_ref or result.image_id


def image_to_run(ctx: RunContext) -> str:
    """IMAGE: the exact image, by digest when known; DOCKERFILE: its build tag."""
    if ctx.source_type == "IMAGE":
        return str(ctx.frozen.get("imageDigest") or ctx.frozen.get("imageId") or ctx.frozen["image"])
    return str(ctx.frozen.get("image") or ctx.frozen["imageId"])


# --------------------------------------------------------------------------- DOCKERFILE


def build_tag(ctx: RunContext, commit_sha: str) -> str:
    """berth/<project>-<environment>-<service>:<sha12>: one repository per service, and one
    per preview (`…-pr7`), so a preview's build never moves a tag production runs."""
    records = ctx.records
    name = f"{records.project.name}-{records.environment.name}-{records.service.name}"
    if ctx.pull_request is not None:
        name += f"-pr{ctx.pull_request}"
    return f"{BUILD_TAG_PREFIX}{name}:{commit_sha[:12]}"


async def replay_image_present(ctx: RunContext) -> str | None:
    """Replaying a build whose image is still on the server: CLONE and BUILD are not needed."""
    image_id, sha = ctx.frozen.get("imageId"), ctx.frozen.get("commitSha")
    if not image_id or not sha:
        return None
    try:
        docker = await ctx.docker()
        present = await _present(docker, str(image_id))
    except DockerOperationError:
        return None  # the step that needs Docker will say what is wrong with it
    if present is None:
        ctx.log.system(f"image {image_id} is no longer on the server: rebuilding commit {sha}")
        return None
    ctx.replay_ready = True
    return f"image {image_id} of commit {str(sha)[:12]} is still on the server"


def build_sources(ctx: RunContext) -> tuple[Path, Path]:
    """The build context and the Dockerfile in the checkout, symlinks resolved: refused when
    either leaves the checkout (a symlink of the repository may point anywhere)."""
    checkout = ctx.checkout
    sha = ctx.frozen.get("commitSha")
    if checkout is None or not sha:
        raise StepFailure("nothing was cloned to build")
    context = inside(checkout, str(ctx.frozen.get("buildContext") or "."), "buildContext")
    if not context.is_dir():
        raise StepFailure(f"buildContext {ctx.frozen.get('buildContext')!r} is not a directory of the repository")
    declared = str(ctx.frozen.get("dockerfile") or "Dockerfile")
    # The Dockerfile path is read from the repository root, as `docker build -f` from the
    # root would; a path relative to the build context is accepted too.
    dockerfile = inside(checkout, declared, "dockerfile")
    if not dockerfile.is_file():
        dockerfile = inside(context, declared, "dockerfile")
    if not dockerfile.is_file():
        raise StepFailure(f"dockerfile {declared!r} is not in the repository at {str(sha)[:12]}")
    return context, dockerfile


async def clone(ctx: RunContext) -> str:
    """CLONE of a DOCKERFILE service: the sources BUILD will read are checked right here."""
    detail = await clone_step.clone(ctx)
    build_sources(ctx)
    return detail


async def build(ctx: RunContext) -> str:
    docker = await ctx.docker()
    context, dockerfile = build_sources(ctx)
    sha = ctx.frozen["commitSha"]
    declared = str(ctx.frozen.get("dockerfile") or "Dockerfile")
    relative = dockerfile.relative_to(context) if dockerfile.is_relative_to(context) else dockerfile
    tag = build_tag(ctx, str(sha))
    ctx.log.system(f"building {tag} from {declared}")
    # The build may pull FROM any registry: it gets every credential of the project.
    auths = ctx.registry_auths
    if auths:
        ctx.log.system(f"FROM images pull with the project's credentials for {', '.join(sorted(auths))}")
        await mark_used(auths.values())
    try:
        image_id = await docker.build(
            context,
            tag=tag,
            dockerfile=str(relative),
            labels={**ctx.labels(), labels.PREFIX + "commit-sha": str(sha)},
            on_line=ctx.log.on_line(StepKind.BUILD),
            cancel=ctx.cancel,
            step_timeout=ctx.step_timeout(ctx.settings.step_deadlines.build),
            registry_auths=auth_configs(auths),
        )
    except DockerOperationError as exc:
        if is_auth_refusal(exc.message):
            raise refused(from_registries(context, dockerfile), exc.message, had_credentials=bool(auths)) from None
        raise StepFailure(exc.message) from None
    ctx.record(image=tag, imageId=image_id)
    ctx.built_image = image_id
    ctx.log.system(f"built {tag} (image {image_id})")
    return f"{tag} ({image_id})"


def from_registries(context: Path, dockerfile: Path) -> list[str]:
    """The registries the Dockerfile's FROM lines name (to say which one refused a pull)."""
    found: list[str] = []
    try:
        lines = dockerfile.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return found
    for line in lines:
        words = line.split()
        if len(words) >= 2 and words[0].upper() == "FROM":
            image = next((w for w in words[1:] if not w.startswith("--")), "")
            if image and image.lower() != "scratch" and "$" not in image:
                registry = registry_of(image)
                if registry not in found:
                    found.append(registry)
    return found


async def ensure_build_tag(ctx: RunContext, docker: DockerApi) -> None:
    """Point the build tag at the recorded image id, so the container runs exactly it."""
    tag, image_id = ctx.frozen.get("image"), ctx.frozen.get("imageId")
    if not tag or not image_id:
        return
    current = await _present(docker, str(tag))
    if current is None or current.id != image_id:
        await docker.tag_image(str(image_id), str(tag))


async def remove_built_image(ctx: RunContext, docker: DockerApi) -> None:
    """Canceled: the image this run built goes too, unless something else uses it (a
    previous deployment of the same commit, a container): then Docker refuses, which is fine."""
    image_id = ctx.built_image
    if image_id is None:
        return
    previous = ctx.records.previous
    if previous is not None and (previous.frozen_input or {}).get("imageId") == image_id:
        return
    try:
        if await docker.remove_image(image_id):
            ctx.log.system(f"removed image {image_id} built by this deployment")
    except DockerOperationError as exc:
        ctx.log.system(f"keeping image {image_id}: {exc.message}")


async def prune_built_images(ctx: RunContext, docker: DockerApi, in_use: set[str]) -> list[str]:
    """Remove this service's built images beyond the newest BERTH_RETENTION_IMAGES (rollback
    needs a few; 0 keeps them all); images a container still uses stay. Returns the ids
    removed. The retention pass (berth.runner.image_retention) applies the same number to
    every image Berth put on the server, and keeps what a rollback needs."""
    keep = ctx.settings.retention_images
    if keep <= 0:
        return []
    built = [image for image in await docker.list_images(dict(ctx.service_filter()))
             if labels.in_lane(image.labels, ctx.preview_id)]
    built.sort(key=lambda image: docker_time_ns(image.created) or 0, reverse=True)
    # What runs stays, and the previous successful deployment's image: the first place a
    # rollback (or autoRollback) goes back to.
    previous = ctx.records.previous
    protected = set(in_use) | ({str((previous.frozen_input or {}).get("imageId"))} if previous else set())
    removed: list[str] = []
    for image in built[keep:]:
        if image.id in protected:
            continue
        try:
            # Not forced: a container we do not know of keeps its image.
            for tag in image.tags or (image.id,):
                await docker.remove_image(tag)
            removed.append(image.id)
        except DockerOperationError as exc:
            ctx.log.system(f"keeping image {image.id}: {exc.message}")
    return removed
