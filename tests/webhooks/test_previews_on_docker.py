"""Pull-request previews end to end (real server, real git, real Docker): a preview runs
beside production with objects of its own, new commits update it, closing removes every
object it had (asked of Docker itself, by label) and leaves it CLEANED."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import docker
import httpx
import pytest

from berth.models.git import PreviewEnvironment
from berth.runner.labels import INSTALLATION, PREVIEW, load_installation
from berth.schema.ids import pk_of
from tests.conftest import Database
from tests.docker_fixtures import APP_PORT, PAGE_PATH, GitRepo, app_page
from tests.support.live_server import LiveServer
from tests.support.names import unique
from tests.support.polling import wait_until
from tests.webhooks.preview_support import (
    DEADLINE,
    containers_of,
    hooked_service,
    labelled,
    nothing_labelled,
    push_branch,
)


def page_at(address: str) -> str:
    """GET / of a preview address as the preview shows it: 127.0.0.1:PORT->8080/tcp."""
    host_port = address.split("->", 1)[0]
    return httpx.get(f"http://{host_port}/", timeout=10).text


@pytest.mark.parametrize("database", ["sqlite", "postgres"], indirect=True)
async def test_a_dockerfile_preview_lives_beside_production_and_leaves_nothing(
    db: Database, preview_server: LiveServer, git_repo: GitRepo, docker_client: docker.DockerClient,
) -> None:
    installation = await load_installation()
    volume = unique("pvdata")
    hooked = await hooked_service(preview_server, "github", {
        "type": "DOCKERFILE", "repository": git_repo.url, "branch": "main",
        "ports": [f"127.0.0.1::{APP_PORT}"], "volumes": [f"{volume}:/data"],
    })
    # Production first, from main.
    production = hooked.query(
        "mutation ($s: ID!) { startDeployment(input: {serviceId: $s}) { deployment { id } errors { message } } }",
        {"s": hooked.service_id})["startDeployment"]["deployment"]["id"]
    hooked.concluded(production)
    [prod_container] = containers_of(docker_client, installation, production)

    # Opened: a deployment of exactly the head SHA, into the preview.
    first = push_branch(git_repo, "feature/x", {PAGE_PATH: app_page("preview-1")}, "preview one")
    opened = hooked.pull_request(7, head_sha=first, head_ref="feature/x", title="Try it")
    assert opened["outcome"] == "PREVIEW_DEPLOYED", opened
    record = hooked.concluded(opened["deployment"])
    assert record["input"]["commitSha"] == first
    preview = record["frozenInput"]["preview"]
    assert {k: preview[k] for k in ("pullRequest", "title", "headRef", "headSha", "baseRef", "author", "fork")} == {
        "pullRequest": 7, "title": "Try it", "headRef": "feature/x", "headSha": first, "baseRef": "main",
        "author": "bob", "fork": False}
    assert record["frozenInput"]["ports"] == [f"127.0.0.1::{APP_PORT}/tcp"]
    shown = hooked.preview(7)
    assert shown["status"] == "ACTIVE" and shown["headSha"] == first
    preview_pk = pk_of(shown["id"], "PreviewEnvironment")
    assert record["preview"]["id"] == shown["id"]

    # Its own objects, by label; production's are untouched and carry no preview label.
    objects = labelled(docker_client, installation, preview_pk)
    assert len(objects["containers"]) == 1 and "-pr7-" in objects["containers"][0], objects
    assert objects["volumes"] == [f"{volume}-preview-{preview_pk}"], objects
    prod_container.reload()
    assert prod_container.status == "running" and PREVIEW not in prod_container.labels
    assert docker_client.volumes.get(volume).attrs["Labels"].get(PREVIEW) is None
    [address] = shown["addresses"]
    assert address.startswith("127.0.0.1:") and address.endswith(f"->{APP_PORT}/tcp")
    assert page_at(address) == app_page("preview-1")

    # New commits: the preview follows the new head; its old container is retired.
    second = push_branch(git_repo, "feature/x", {PAGE_PATH: app_page("preview-2")}, "preview two")
    updated = hooked.pull_request(7, action="synchronize", head_sha=second, head_ref="feature/x")
    assert updated["outcome"] == "PREVIEW_DEPLOYED", updated
    assert hooked.concluded(updated["deployment"])["input"]["commitSha"] == second
    shown = hooked.preview(7)
    assert shown["headSha"] == second and len(shown["deployments"]["nodes"]) == 2
    assert len(labelled(docker_client, installation, preview_pk)["containers"]) == 1
    assert page_at(shown["addresses"][0]) == app_page("preview-2")
    # Production never saw any of it: still its one container, still running.
    prod_container.reload()
    assert prod_container.status == "running"

    # Closed: CLOSED at once, then the runner removes everything, then CLEANED.
    closed = hooked.pull_request(7, action="closed", head_sha=second, head_ref="feature/x", merged=True)
    assert closed["outcome"] == "PREVIEW_CLOSED", closed
    cleaned = hooked.wait_status(7, "CLEANED")
    assert cleaned["closedAt"] and cleaned["cleanedAt"] and cleaned["addresses"] == []
    assert nothing_labelled(docker_client, installation, preview_pk), labelled(docker_client, installation, preview_pk)
    prod_container.reload()
    assert prod_container.status == "running"
    docker_client.volumes.get(volume)  # production's data stays


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_a_compose_preview_has_its_own_project_networks_and_volumes(
    db: Database, preview_server: LiveServer, git_repo: GitRepo, docker_client: docker.DockerClient,
) -> None:
    installation = await load_installation()
    hooked = await hooked_service(preview_server, "gitlab", {
        "type": "COMPOSE", "repository": git_repo.url, "branch": "main", "composeFiles": ["compose.yaml"],
    })
    compose = f"""\
services:
  web:
    image: {git_repo.compose_image}
    container_name: fixed-name-{unique('c')}
    ports:
      - "127.0.0.1::{APP_PORT}"
    volumes:
      - data:/data
    healthcheck:
      test: ["CMD", "/bin/wget", "-q", "-O-", "http://127.0.0.1:{APP_PORT}/"]
      interval: 1s
      timeout: 3s
      retries: 3
volumes:
  data: {{}}
"""
    head = push_branch(git_repo, "feature/c", {"compose.yaml": compose}, "compose with a volume")
    # GitLab's Merge Request Hook: open.
    opened = hooked.pull_request(3, head_sha=head, head_ref="feature/c")
    assert opened["outcome"] == "PREVIEW_DEPLOYED", opened
    record = hooked.concluded(opened["deployment"])
    project = record["frozenInput"]["composeProject"]
    assert project.endswith("-pr3"), project
    preview_pk = pk_of(hooked.preview(3)["id"], "PreviewEnvironment")
    objects = labelled(docker_client, installation, preview_pk)
    assert len(objects["containers"]) == 1 and objects["containers"][0].startswith(project), objects
    assert objects["volumes"] == [f"{project}_data"], objects
    assert objects["networks"] == [f"{project}_default"], objects
    [address] = hooked.preview(3)["addresses"]
    assert address.startswith("127.0.0.1:")

    # GitLab's merge: the project and everything in it go.
    merged = hooked.pull_request(3, action="closed", merged=True, head_sha=head, head_ref="feature/c")
    assert merged["outcome"] == "PREVIEW_CLOSED", merged
    hooked.wait_status(3, "CLEANED")
    assert nothing_labelled(docker_client, installation, preview_pk), labelled(docker_client, installation, preview_pk)
    # The project name is this installation's own (it holds the project's unique name).
    assert not docker_client.containers.list(all=True, filters={"label": f"com.docker.compose.project={project}"})
    assert not docker_client.networks.list(filters={"label": f"com.docker.compose.project={project}"})


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_fork_pull_requests_are_refused_unless_allowed_and_then_get_no_secrets(
    db: Database, preview_server: LiveServer, git_repo: GitRepo, docker_client: docker.DockerClient,
) -> None:
    installation = await load_installation()
    source = {"type": "DOCKERFILE", "repository": git_repo.url, "branch": "main"}
    env = [{"key": "PLAIN", "value": "visible"}, {"key": "TOKEN", "value": "s3cret-value", "secret": True}]
    refusing = await hooked_service(preview_server, "github", source, env=env)
    # The fork's commit exists only under the base repository's refs/pull/9/head.
    head = push_branch(git_repo, "fork-work", {PAGE_PATH: app_page("from-a-fork")}, "fork", pull_ref="refs/pull/9/head")
    answer = refusing.pull_request(9, head_sha=head, head_ref="main", fork_of="stranger/app")
    assert answer == answer | {"outcome": "SKIPPED", "deployment": None}
    assert "fork" in answer["reason"]
    assert refusing.previews() == []

    allowing = await hooked_service(preview_server, "gitea", source, env=env, allow_forks=True)
    answer = allowing.pull_request(9, head_sha=head, head_ref="main", fork_of="stranger/app")
    assert answer["outcome"] == "PREVIEW_DEPLOYED", answer
    record = allowing.concluded(answer["deployment"])
    assert record["input"]["commitSha"] == head
    assert record["frozenInput"]["preview"]["fork"] is True
    assert record["frozenInput"]["preview"]["secretsWithheld"] is True
    [container] = containers_of(docker_client, installation, answer["deployment"])
    variables = container.attrs["Config"]["Env"]
    assert "PLAIN=visible" in variables
    assert not any(v.startswith("TOKEN=") for v in variables), variables
    assert "s3cret-value" not in str(container.attrs)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_idle_previews_are_cleaned_and_close_preview_does_it_by_hand(
    db: Database, preview_server: LiveServer, git_repo: GitRepo, docker_client: docker.DockerClient,
) -> None:
    installation = await load_installation()
    hooked = await hooked_service(preview_server, "github", {"type": "DOCKERFILE", "repository": git_repo.url,
                                                      "branch": "main"})
    head = push_branch(git_repo, "feature/t", {PAGE_PATH: app_page("ttl")}, "ttl")
    for number in (21, 22):
        answer = hooked.pull_request(number, head_sha=head, head_ref="feature/t")
        hooked.concluded(answer["deployment"])
    idle, kept = hooked.preview(21), hooked.preview(22)
    # No event for longer than BERTH_PREVIEW_TTL_HOURS (72 by default).
    await PreviewEnvironment.filter(id=pk_of(idle["id"], "PreviewEnvironment")).update(
        updated_at=datetime.now(UTC) - timedelta(hours=73))
    hooked.wait_status(21, "CLEANED")
    assert nothing_labelled(docker_client, installation, pk_of(idle["id"], "PreviewEnvironment"))
    assert hooked.preview(22)["status"] == "ACTIVE"

    closed = hooked.query("mutation ($id: ID!) { closePreview(id: $id) { preview { status closedAt } "
                          "errors { code message } } }", {"id": kept["id"]})["closePreview"]
    assert closed["errors"] == [] and closed["preview"]["status"] == "CLOSED" and closed["preview"]["closedAt"]
    hooked.wait_status(22, "CLEANED")
    assert nothing_labelled(docker_client, installation, pk_of(kept["id"], "PreviewEnvironment"))
    again = hooked.query("mutation ($id: ID!) { closePreview(id: $id) { preview { id } errors { code } } }",
                         {"id": kept["id"]})["closePreview"]
    assert again == {"preview": None, "errors": [{"code": "CONFLICT"}]}


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_the_observer_sweeps_objects_of_unknown_previews(
    db: Database, preview_server: LiveServer, docker_client: docker.DockerClient, busybox_image: object,
) -> None:
    installation = await load_installation()
    image = busybox_image.ref("v1")  # type: ignore[attr-defined]
    ours = {INSTALLATION: installation, PREVIEW: "987654", "io.berth.managed": "true"}
    other = {INSTALLATION: "another-installation", PREVIEW: "987654"}
    orphan = docker_client.containers.create(image, name=unique("orphan"), labels=ours)
    orphan_volume = docker_client.volumes.create(unique("orphanvol"), labels=ours)
    foreign = docker_client.containers.create(image, name=unique("foreign"), labels=other)
    try:
        wait_until(lambda: nothing_labelled_here(docker_client, installation) or None, DEADLINE,
                   "the observer to sweep the orphan", interval=0.5)
        foreign.reload()  # another installation's preview objects are not ours to remove
        with pytest.raises(docker.errors.NotFound):
            docker_client.volumes.get(orphan_volume.name)
        with pytest.raises(docker.errors.NotFound):
            orphan.reload()
    finally:
        foreign.remove(force=True)


def nothing_labelled_here(client: docker.DockerClient, installation: str) -> bool:
    wanted = {"label": [f"{PREVIEW}=987654", f"{INSTALLATION}={installation}"]}
    return not client.containers.list(all=True, filters=wanted) and not client.volumes.list(filters=wanted)

