"""The test services and fixtures themselves: each test proves a fixture delivers what it promises."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import docker
import docker.errors
import paramiko
import pytest
import requests
from docker.models.containers import Container

from tests.docker_fixtures import (
    APP_PORT,
    GIT_VERSION,
    PAGE_PATH,
    BusyboxImage,
    GitRepo,
    SshDocker,
    TlsDocker,
    app_page,
    build_and_push,
    build_busybox_context,
    delete_from_registry,
    http_get,
    published_url,
)
from tests.services import REGISTRY, docker_over_ssh, run, tls_config
from tests.support.polling import wait_until


@pytest.fixture
def containers(docker_client: docker.DockerClient) -> Iterator[list[Container]]:
    """Containers a test starts on the first daemon; removed at teardown, even on failure."""
    started: list[Container] = []
    yield started
    for container in started:
        try:
            container.remove(force=True, v=True)
        except docker.errors.NotFound:
            pass


def serve(client: docker.DockerClient, image: str, name: str, started: list[Container]) -> Container:
    container = client.containers.run(
        image, name=name, detach=True, ports={f"{APP_PORT}/tcp": ("127.0.0.1", None)}
    )
    started.append(container)
    return container


def health(container: Container) -> str | None:
    container.reload()
    return container.attrs["State"].get("Health", {}).get("Status")


def check_serves_and_stops(
    client: docker.DockerClient, image: str, name: str, version: str, started: list[Container]
) -> None:
    container = serve(client, image, name, started)
    url = published_url(container)
    assert url.startswith("http://127.0.0.1:")
    page = wait_until(lambda: http_get(f"{url}/index.html"), 20, f"{name} to serve")
    assert page == (200, app_page(version))
    wait_until(lambda: health(container) == "healthy", 20, f"{name} to be healthy")
    assert b"listening on 8080" in container.logs()
    # It stops on SIGTERM at once (exit 0), not after docker stop's 10 s grace period.
    stopping = time.monotonic()
    container.stop(timeout=10)
    assert time.monotonic() - stopping < 5
    container.reload()
    assert container.attrs["State"]["ExitCode"] == 0


def test_app_image_serves_its_version_and_becomes_healthy(
    docker_client: docker.DockerClient,
    busybox_image: BusyboxImage,
    containers: list[Container],
    unique_name: str,
) -> None:
    for tag in busybox_image.tags:
        check_serves_and_stops(docker_client, busybox_image.ref(tag), f"{unique_name}-{tag}", tag, containers)
    assert busybox_image.page("v1") != busybox_image.page("v2")
    assert busybox_image.digest("v1") != busybox_image.digest("v2")
    # The image is pinned by digest, so a reference by digest must resolve locally too.
    assert docker_client.images.get(busybox_image.digest("v1")).labels["berth.test.version"] == "v1"


def test_variant_context_overrides_healthcheck_and_adds_files(
    docker_client: docker.DockerClient,
    busybox_image: BusyboxImage,
    containers: list[Container],
    unique_name: str,
    tmp_path: Path,
) -> None:
    context = build_busybox_context(
        tmp_path,
        unique_name,
        extra_dockerfile_lines=['HEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD ["false"]'],
        extra_files={"/www/cgi-bin/fail": "#!/bin/sh\necho 'Status: 500 Boom'\necho\necho broken\n"},
    )
    tag = f"berth-test-variant:{unique_name}"
    docker_client.images.build(path=str(context), tag=tag, rm=True, forcerm=True)
    try:
        container = serve(docker_client, tag, unique_name, containers)
        url = published_url(container)
        page = wait_until(lambda: http_get(f"{url}/"), 20, "the variant to serve")
        assert page == (200, app_page(unique_name))
        assert http_get(f"{url}/cgi-bin/fail")[0] == 500
        wait_until(lambda: health(container) == "unhealthy", 20, "the variant to be unhealthy")
    finally:
        for container in containers:
            container.remove(force=True)
        containers.clear()
        docker_client.images.remove(tag, force=True)


def test_push_remove_pull_gives_the_same_digest(
    docker_client: docker.DockerClient, busybox_image: BusyboxImage, unique_name: str, tmp_path: Path
) -> None:
    # An image of its own: removing the shared app image could break a concurrent test
    # run. One repository with a tag per run, deleted again, so the registry does not grow.
    repo, tag = f"{REGISTRY}/berth-test/roundtrip", unique_name
    pushed = build_and_push(docker_client, build_busybox_context(tmp_path, unique_name), repo, tag)
    try:
        assert pushed.startswith(f"{repo}@sha256:")
        docker_client.images.remove(f"{repo}:{tag}", force=True)
        with pytest.raises(docker.errors.ImageNotFound):
            docker_client.images.get(f"{repo}:{tag}")
        pulled = docker_client.images.pull(repo, tag=tag)
        assert pushed in pulled.attrs["RepoDigests"]
        assert pulled.labels["berth.test.version"] == unique_name
    finally:
        docker_client.images.remove(f"{repo}:{tag}", force=True)
        delete_from_registry(pushed)
    with pytest.raises(docker.errors.NotFound):
        docker_client.images.pull(repo, tag=tag)


def test_git_repo_clones_with_both_apps_and_moves_on_commit(git_repo: GitRepo, tmp_path: Path) -> None:
    assert git_repo.url.startswith("file:///") and git_repo.url.endswith("/app.git")
    first = git_repo.head_sha()
    clone = tmp_path / "clone"
    run("git", "clone", "--quiet", "--branch", "main", git_repo.url, clone)
    assert run("git", "rev-parse", "HEAD", cwd=clone).strip() == first
    assert (clone / "Dockerfile").read_text().startswith("FROM scratch")
    assert (clone / "base" / "bin" / "busybox").stat().st_size > 100_000
    assert (clone / "base" / "bin" / "sh").is_symlink()
    assert (clone / PAGE_PATH).read_text() == app_page(GIT_VERSION)
    assert f"image: {git_repo.compose_image}" in (clone / "compose.yaml").read_text()

    second = git_repo.set_version("git-v2")
    assert second != first and git_repo.head_sha() == second
    run("git", "pull", "--quiet", "--ff-only", cwd=clone)
    assert (clone / PAGE_PATH).read_text() == app_page("git-v2")


def test_dockerfile_app_from_the_repo_builds_and_serves(
    docker_client: docker.DockerClient,
    git_repo: GitRepo,
    containers: list[Container],
    unique_name: str,
    tmp_path: Path,
) -> None:
    clone = tmp_path / "clone"
    run("git", "clone", "--quiet", git_repo.url, clone)
    tag = f"berth-test-git:{unique_name}"
    docker_client.images.build(path=str(clone), tag=tag, rm=True, forcerm=True)
    try:
        url = published_url(serve(docker_client, tag, unique_name, containers))
        page = wait_until(lambda: http_get(url), 20, "the repo's app to serve")
        assert page == (200, app_page(GIT_VERSION))
    finally:
        for container in containers:
            container.remove(force=True)
        containers.clear()
        docker_client.images.remove(tag, force=True)


def test_compose_app_from_the_repo_comes_up_healthy(
    docker_client: docker.DockerClient, git_repo: GitRepo, unique_name: str, tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    run("git", "clone", "--quiet", git_repo.url, clone)
    compose: list[str | Path] = [
        "docker-compose",
        "--project-name",
        unique_name,
        "--file",
        clone / "compose.yaml",
    ]
    try:
        run(*compose, "up", "--detach", cwd=clone)
        (container,) = docker_client.containers.list(
            filters={"label": f"com.docker.compose.project={unique_name}"}
        )
        wait_until(lambda: health(container) == "healthy", 30, "the compose service to be healthy")
        assert http_get(published_url(container)) == (200, app_page("v1"))
    finally:
        run(*compose, "down", "--volumes", "--remove-orphans", cwd=clone)


def check_another_server(
    first: docker.DockerClient, other: docker.DockerClient, busybox_image: BusyboxImage, name: str
) -> None:
    """`other` is a daemon of its own that pulls from the test registry and runs containers."""
    assert other.info()["ID"] != first.info()["ID"]
    assert other.info()["DockerRootDir"] != first.info()["DockerRootDir"]
    image = other.images.pull(busybox_image.repo, tag="v1")
    assert busybox_image.digest("v1") in image.attrs["RepoDigests"]
    container = other.containers.run(
        busybox_image.ref("v1"), ["busybox", "echo", f"hello {name}"], name=name, detach=True
    )
    try:
        assert container.wait(timeout=30)["StatusCode"] == 0
        assert container.logs() == f"hello {name}\n".encode()
        with pytest.raises(docker.errors.NotFound):
            first.containers.get(name)
    finally:
        container.remove(force=True)


def test_second_daemon_is_another_server(
    docker_client: docker.DockerClient,
    docker2_client: docker.DockerClient,
    busybox_image: BusyboxImage,
    unique_name: str,
) -> None:
    check_another_server(docker_client, docker2_client, busybox_image, unique_name)


def test_tls_daemon_is_another_server_and_wants_a_client_cert(
    docker_client: docker.DockerClient,
    docker2_client: docker.DockerClient,
    tls_docker: TlsDocker,
    tls_docker_client: docker.DockerClient,
    busybox_image: BusyboxImage,
    unique_name: str,
) -> None:
    assert tls_docker.host.startswith("tcp://127.0.0.1:")
    assert "BEGIN CERTIFICATE" in tls_docker.ca_cert and "PRIVATE KEY" in tls_docker.client_key
    check_another_server(docker_client, tls_docker_client, busybox_image, unique_name)
    assert tls_docker_client.info()["ID"] != docker2_client.info()["ID"]
    # Mutual TLS: the CA alone does not get in.
    anonymous = docker.APIClient(base_url=tls_docker.host, tls=tls_config(client_cert=False), version="1.41")
    anonymous.trust_env = False  # see make_docker_client
    with pytest.raises(requests.exceptions.RequestException):
        anonymous.ping()


def test_ssh_reaches_the_first_daemon(docker_client: docker.DockerClient, ssh_docker: SshDocker) -> None:
    assert ssh_docker.host.startswith("ssh://root@127.0.0.1:")
    assert ssh_docker.known_hosts.startswith("[127.0.0.1]:")
    # What docker-py's paramiko transport does: the pinned host key, the test key only.
    target = urlsplit(ssh_docker.host)
    client = paramiko.SSHClient()
    client.load_host_keys(str(ssh_docker.known_hosts_path))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        target.hostname or "", port=target.port or 22, username=target.username,
        key_filename=str(ssh_docker.key_path), look_for_keys=False, allow_agent=False, timeout=10,
    )  # fmt: skip
    try:
        stdin, stdout, _ = client.exec_command("docker system dial-stdio", timeout=30)
        stdin.write(b"GET /info HTTP/1.0\r\nHost: docker\r\n\r\n")
        stdin.flush()
        head, _, body = stdout.read().partition(b"\r\n\r\n")
    finally:
        client.close()
    assert head.startswith(b"HTTP/1.0 200")
    assert json.loads(body)["ID"] == docker_client.info()["ID"]
    # And what the docker CLI and compose do: the ssh binary (tests/services.py passes the same options).
    head, _, body = docker_over_ssh(b"GET /version HTTP/1.0\r\nHost: docker\r\n\r\n").partition(b"\r\n\r\n")
    assert json.loads(body)["ApiVersion"] == docker_client.version()["ApiVersion"]


async def test_postgres_admin_dsn_is_a_superuser(pg_admin_dsn: str) -> None:
    conn = await asyncpg.connect(pg_admin_dsn, timeout=5)
    try:
        assert await conn.fetchval("select rolsuper from pg_roles where rolname = current_user") is True
    finally:
        await conn.close()
