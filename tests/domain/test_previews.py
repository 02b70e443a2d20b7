"""Pull-request previews in the domain: what each event does to the preview row and its
deployments, the lanes (a preview never supersedes the service nor is its rollback target),
forks, closing by hand and by age, and the isolation written into the frozen input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from berth.domain.deployments import start_deployment
from berth.domain.errors import UserFacingError
from berth.domain.git_events import PullRequestAction, PullRequestEvent
from berth.domain.inventory import create_service
from berth.domain.preview_isolation import isolated_compose
from berth.domain.previews import close_idle, close_preview, get_visible_preview, handle_pull_request
from berth.domain.rollback import default_target
from berth.domain.secrets import encrypt
from berth.domain.specs import EnvVarSpec, ServiceSpec, SourceSpec, StartSpec
from berth.models import Deployment, Service
from berth.models.enums import (
    DeploymentConclusion,
    DeploymentStatus,
    GitProvider,
    PreviewStatus,
    SourceType,
    WebhookOutcome,
)
from berth.models.git import GitHook, PreviewEnvironment
from berth.models.lifecycle import now
from tests.support.names import unique

from . import image_service, owner, project, run_to, server, succeed

HEAD = "a" * 40
NEWER = "b" * 40


async def repo_service(source_type: SourceType = SourceType.DOCKERFILE, privileged: bool = False,
                       **source: Any) -> Service:
    return await create_service(owner(), ServiceSpec(
        project_id=(await project()).id, environment="production", name=unique("svc"),
        server_id=(await server(allow_privileged=privileged)).id,
        source=SourceSpec(type=source_type, repository="https://git.example.test/team/app.git", branch="main",
                          **source),
        env=[EnvVarSpec("MODE", "preview"), EnvVarSpec("API_TOKEN", "hunter2-secret", secret=True)],
    ))


async def hook_of(service: Service, allow_forks: bool = False) -> GitHook:
    return await GitHook.create(service_id=service.id, provider=GitProvider.GITHUB, repository="team/app",
                                branch="main", previews=True, allow_fork_previews=allow_forks,
                                secret_enc=encrypt("s"), created_at=now())


def event(action: PullRequestAction = PullRequestAction.OPENED, number: int = 7, **fields: Any) -> PullRequestEvent:
    values: dict[str, Any] = {
        "repository": "team/app", "action": action, "number": number, "title": "Try it", "head_ref": "feature/x",
        "head_sha": HEAD, "base_ref": "main", "author": "bob", "fork": False, "merged": False,
        "fetch_ref": f"refs/pull/{number}/head",
    }
    values.update(fields)
    return PullRequestEvent(**values)


async def handle(hook: GitHook, pr: PullRequestEvent) -> tuple[WebhookOutcome, str | None, Deployment | None]:
    return await handle_pull_request(hook, pr, {})


async def test_opening_creates_the_preview_and_deploys_the_head_isolated(db) -> None:
    service = await repo_service(ports=["8080:80", "127.0.0.1:9000:90/udp"], volumes=["data:/data", "/srv:/srv"],
                                 privileged=True)
    outcome, reason, deployment = await handle(await hook_of(service), event())
    assert (outcome, reason) == (WebhookOutcome.PREVIEW_DEPLOYED, None) and deployment is not None
    preview = await PreviewEnvironment.get(service_id=service.id, pull_request=7)
    assert (preview.status, preview.head_sha, preview.title, preview.author) == (
        PreviewStatus.ACTIVE, HEAD, "Try it", "bob")
    stored = await Deployment.get(id=deployment.id)
    assert stored.preview_id == preview.id and stored.input["commitSha"] == HEAD
    frozen = stored.frozen_input
    assert frozen["preview"] | {"id": None} == {
        "id": None, "pullRequest": 7, "title": "Try it", "headRef": "feature/x", "headSha": HEAD, "baseRef": "main",
        "author": "bob", "fork": False, "fetchRef": "refs/pull/7/head", "secretsWithheld": False,
        "ports": "ephemeral loopback"}
    # No fixed host port, only the loopback address; its own named volume; host paths stay.
    assert frozen["ports"] == ["127.0.0.1::80/tcp", "127.0.0.1::90/udp"]
    assert frozen["volumes"] == [f"data-preview-{preview.id}:/data", "/srv:/srv"]
    # A preview of the base repository gets the service's secrets as production does.
    assert stored.frozen_secrets_enc is not None


async def test_new_commits_update_the_preview_and_supersede_only_its_own_queue(db) -> None:
    service = await repo_service()
    hook = await hook_of(service)
    production = await start_deployment(owner(), StartSpec(service_id=service.id))
    _, _, first = await handle(hook, event())
    _, _, other_pr = await handle(hook, event(number=8))
    outcome, _, second = await handle(hook, event(PullRequestAction.UPDATED, head_sha=NEWER))
    assert outcome is WebhookOutcome.PREVIEW_DEPLOYED and first and second and other_pr
    states = {d.id: (d.status, d.conclusion) for d in await Deployment.filter(service_id=service.id)}
    # The older deployment of the same preview is skipped; production and the other
    # pull request's preview are other lanes and wait on.
    assert states[first.id] == (DeploymentStatus.COMPLETED, DeploymentConclusion.SKIPPED)
    assert states[production.id] == (DeploymentStatus.QUEUED, None)
    assert states[other_pr.id] == (DeploymentStatus.QUEUED, None)
    assert (await PreviewEnvironment.get(service_id=service.id, pull_request=7)).head_sha == NEWER
    # And a production start does not skip a preview's.
    await start_deployment(owner(), StartSpec(service_id=service.id))
    assert (await Deployment.get(id=second.id)).status is DeploymentStatus.QUEUED


async def test_previews_are_never_a_rollback_target(db) -> None:
    service = await repo_service()
    production = await start_deployment(owner(), StartSpec(service_id=service.id))
    await succeed(production.id, commitSha="1" * 40)
    _, _, previewed = await handle(await hook_of(service), event())
    assert previewed is not None
    await succeed(previewed.id, commitSha=HEAD)
    newer = await start_deployment(owner(), StartSpec(service_id=service.id))
    await succeed(newer.id, commitSha="2" * 40)
    target = await default_target(service.id)
    assert target is not None and target.id == production.id


async def test_fork_pull_requests_are_skipped_unless_allowed_and_then_get_no_secrets(db) -> None:
    service = await repo_service()
    outcome, reason, deployment = await handle(await hook_of(service), event(fork=True))
    assert outcome is WebhookOutcome.SKIPPED and deployment is None
    assert reason == "pull request #7 comes from a fork: fork previews are off for this hook"
    assert not await PreviewEnvironment.filter(service_id=service.id).exists()

    outcome, _, deployment = await handle(await hook_of(service, allow_forks=True), event(fork=True))
    assert outcome is WebhookOutcome.PREVIEW_DEPLOYED and deployment is not None
    stored = await Deployment.get(id=deployment.id)
    assert stored.frozen_secrets_enc is None
    assert stored.frozen_input["preview"]["fork"] is True and stored.frozen_input["preview"]["secretsWithheld"]
    assert {item["key"]: item["value"] for item in stored.frozen_input["env"]} == {
        "MODE": "preview", "API_TOKEN": None}


@pytest.mark.parametrize(("action", "merged", "words"), [
    (PullRequestAction.CLOSED, True, "merged"), (PullRequestAction.CLOSED, False, "closed"),
])
async def test_closing_cancels_its_deployments_and_marks_it_closed(
    db, action: PullRequestAction, merged: bool, words: str
) -> None:
    service = await repo_service()
    hook = await hook_of(service)
    _, _, running = await handle(hook, event())
    assert running is not None
    await run_to(running.id, DeploymentStatus.DEPLOY)
    _, _, waiting = await handle(hook, event(number=9))
    outcome, reason, _ = await handle(hook, event(action, merged=merged))
    assert (outcome, reason) == (WebhookOutcome.PREVIEW_CLOSED, None)
    preview = await PreviewEnvironment.get(service_id=service.id, pull_request=7)
    assert preview.status is PreviewStatus.CLOSED and preview.closed_at is not None and preview.cleaned_at is None
    stored = await Deployment.get(id=running.id)
    assert stored.cancel_requested_at is not None and words in (stored.cancel_reason or "")
    assert waiting is not None and (await Deployment.get(id=waiting.id)).status is DeploymentStatus.QUEUED
    # Closing again: nothing left to close.
    outcome, reason, _ = await handle(hook, event(action, merged=merged))
    assert (outcome, reason) == (WebhookOutcome.SKIPPED, "pull request #7 has no active preview")


async def test_what_deploys_nothing(db) -> None:
    service = await repo_service()
    hook = await hook_of(service)
    labelled = await handle(hook, event(PullRequestAction.OTHER))
    assert labelled == (WebhookOutcome.SKIPPED, "pull request #7: this action deploys nothing", None)
    image = await image_service()
    image_hook = await hook_of(image)
    outcome, reason, _ = await handle(image_hook, event())
    assert outcome is WebhookOutcome.SKIPPED and reason == f"service {image.name} deploys an image, not a repository"
    bad = await handle(hook, event(head_sha="not-a-sha"))
    assert bad == (WebhookOutcome.SKIPPED, "pull request #7: the head is not a commit SHA", None)


async def test_close_preview_by_hand_and_who_may_see_it(db) -> None:
    service = await repo_service()
    await handle(await hook_of(service), event())
    preview = await PreviewEnvironment.get(service_id=service.id, pull_request=7)
    stranger = owner(project_ids=[service.project_id + 1000])  # type: ignore[attr-defined]
    assert await get_visible_preview(stranger, preview.id) is None
    with pytest.raises(UserFacingError) as refused:
        await close_preview(stranger, preview.id)
    assert refused.value.code == "NOT_FOUND"
    closed = await close_preview(owner(), preview.id)
    assert closed.status is PreviewStatus.CLOSED
    with pytest.raises(UserFacingError) as again:
        await close_preview(owner(), preview.id)
    assert again.value.code == "CONFLICT" and "pull request #7 is already CLOSED" in again.value.message


async def test_idle_previews_are_closed_after_the_ttl(db) -> None:
    service = await repo_service()
    hook = await hook_of(service)
    for number in (1, 2, 3):
        _, _, deployment = await handle(hook, event(number=number))
        assert deployment is not None
        if number != 3:
            await succeed(deployment.id)
    old = now() - timedelta(hours=73)
    await PreviewEnvironment.filter(service_id=service.id, pull_request__in=[1, 3]).update(updated_at=old)
    closed = await close_idle(72)
    # #3 is old too, but a deployment of it is still queued: it is not idle.
    assert [p.pull_request for p in closed] == [1]
    statuses = {p.pull_request: p.status for p in await PreviewEnvironment.filter(service_id=service.id)}
    assert statuses == {1: PreviewStatus.CLOSED, 2: PreviewStatus.ACTIVE, 3: PreviewStatus.ACTIVE}


async def test_reopening_a_cleaned_preview_starts_it_again(db) -> None:
    service = await repo_service()
    hook = await hook_of(service)
    await handle(hook, event())
    await handle(hook, event(PullRequestAction.CLOSED))
    await PreviewEnvironment.filter(service_id=service.id).update(status=PreviewStatus.CLEANED, cleaned_at=now())
    outcome, _, deployment = await handle(hook, event(PullRequestAction.REOPENED, head_sha=NEWER))
    assert outcome is WebhookOutcome.PREVIEW_DEPLOYED and deployment is not None
    preview = await PreviewEnvironment.get(service_id=service.id, pull_request=7)
    assert (preview.status, preview.closed_at, preview.cleaned_at, preview.head_sha) == (
        PreviewStatus.ACTIVE, None, None, NEWER)


async def test_compose_previews_get_their_own_project(db) -> None:
    service = await repo_service(SourceType.COMPOSE, compose_files=["compose.yaml"])
    _, _, deployment = await handle(await hook_of(service), event(number=12))
    assert deployment is not None
    project_name = (await Deployment.get(id=deployment.id)).frozen_input["composeProject"]
    assert project_name.endswith(f"-{service.name}-pr12")


def test_compose_files_lose_fixed_names_and_host_ports() -> None:
    document = {
        "services": {"web": {"image": "nginx", "container_name": "web", "ports": ["8080:80", 53, {
            "target": 443, "published": 8443, "host_ip": "0.0.0.0", "protocol": "tcp"}]}},
        "volumes": {"data": {"name": "shared-data"}, "outside": {"external": True, "name": "kept"}},
        "networks": {"front": {"name": "front-net"}},
    }
    isolated = isolated_compose(document)
    assert isolated["services"]["web"] == {"image": "nginx", "ports": [
        "127.0.0.1::80/tcp", "127.0.0.1::53", {"target": 443, "protocol": "tcp", "host_ip": "127.0.0.1"}]}
    assert isolated["volumes"] == {"data": {}, "outside": {"external": True, "name": "kept"}}
    assert isolated["networks"] == {"front": {}}




async def test_a_routed_services_preview_is_routed_at_its_pull_request_host(db) -> None:
    service = await repo_service()
    route = {"host": "app.example.test", "pathPrefix": "/api", "containerPort": 8080, "composeService": None,
             "drainSeconds": 3}
    await Service.filter(id=service.id).update(route=route)
    _, _, deployment = await handle(await hook_of(service), event(number=9))
    assert deployment is not None
    frozen = (await Deployment.get(id=deployment.id)).frozen_input
    # Only the host differs: the same prefix, port and drain, beside production's route.
    assert frozen["route"] == {**route, "host": "pr-9.app.example.test"}
    assert (await Service.get(id=service.id)).route == route
