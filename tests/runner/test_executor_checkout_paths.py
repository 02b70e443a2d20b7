"""A symlink in the repository cannot take a deployment's reads outside its checkout
(real git, real Docker): the text of `build: ./ctx` passes the policy, but when `ctx`
points out of the checkout, CLONE fails and nothing is built from there."""

from __future__ import annotations

import os
from pathlib import Path

from berth.domain.specs import SourceSpec
from tests.docker_fixtures import APP_PORT, BusyboxImage, GitRepo
from tests.runner.conftest import postgres_only
from tests.runner.executor_support import Harness
from tests.runner.test_executor_image import assert_failed_at


def _outside(tmp_path: Path, busybox_image: BusyboxImage) -> Path:
    """A directory outside every checkout that a build would read: a Dockerfile and a marker."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "marker").write_text("read from outside the checkout\n")
    (outside / "app.env").write_text("MARKER=read from outside the checkout\n")
    (outside / "Dockerfile").write_text(f"FROM {busybox_image.ref('v1')}\nCOPY marker /marker\n")
    return outside


def _commit_with_link(git_repo: GitRepo, link: str, target: Path, files: dict[str, str]) -> None:
    git_repo.commit({}, "work tree")  # clones the work tree on first use
    os.symlink(target, git_repo.workdir / link)
    git_repo.commit(files, f"{link} -> {target}")


@postgres_only
async def test_a_compose_build_context_linked_out_of_the_checkout_fails_clone(
    harness: Harness, git_repo: GitRepo, busybox_image: BusyboxImage, tmp_path: Path
) -> None:
    compose = f"""\
services:
  web:
    build: ./ctx
    image: {harness.token}-web:latest
    ports:
      - "127.0.0.1::{APP_PORT}"
"""
    _commit_with_link(git_repo, "ctx", _outside(tmp_path, busybox_image), {"compose.yaml": compose})
    service = await harness.service(SourceSpec(type="COMPOSE", repository=git_repo.url, branch="main",
                                               compose_files=["compose.yaml"]))
    deployment = await harness.deploy(service)
    message = await assert_failed_at(harness, deployment, "CLONE", "CLONE_FAILED")
    assert message.startswith("compose file compose.yaml: services.web.build: './ctx' leads outside the checkout")
    assert "allowPrivileged" in message
    assert str(tmp_path) not in message  # where the link points is the runner's business
    assert harness.containers(service, running_only=False) == []
    assert harness.client.images.list(name=f"{harness.token}-web") == []


@postgres_only
async def test_compose_env_files_and_the_dotenv_file_linked_out_of_the_checkout_fail_clone(
    harness: Harness, git_repo: GitRepo, busybox_image: BusyboxImage, tmp_path: Path
) -> None:
    outside = _outside(tmp_path, busybox_image)
    compose = f"""\
services:
  web:
    image: {busybox_image.ref("v1")}
    env_file: [config/app.env]
    ports:
      - "127.0.0.1::{APP_PORT}"
"""
    _commit_with_link(git_repo, "config", outside, {"compose.yaml": compose})
    service = await harness.service(SourceSpec(type="COMPOSE", repository=git_repo.url, branch="main",
                                               compose_files=["compose.yaml"]))
    message = await assert_failed_at(harness, await harness.deploy(service), "CLONE", "CLONE_FAILED")
    assert "services.web.env_file: 'config/app.env' leads outside the checkout" in message

    git_repo.commit({"config": None, "compose.yaml": compose.replace("    env_file: [config/app.env]\n", "")},
                    "no env file")
    os.symlink(outside / "marker", git_repo.workdir / ".env")
    git_repo.commit({}, ".env -> outside")
    message = await assert_failed_at(harness, await harness.deploy(service), "CLONE", "CLONE_FAILED")
    assert message.startswith(".env, the .env file compose reads, leads outside the checkout")

    # Compose would take its own settings from it too (v1 even DOCKER_HOST).
    (git_repo.workdir / ".env").unlink()  # the link, not what it points to
    git_repo.commit({".env": "TAG=1\nDOCKER_HOST=unix:///var/run/docker.sock\n"}, ".env with settings")
    message = await assert_failed_at(harness, await harness.deploy(service), "CLONE", "CLONE_FAILED")
    assert message.startswith(".env sets DOCKER_HOST: compose reads its own DOCKER_* and COMPOSE_* settings")
    assert harness.containers(service, running_only=False) == []


@postgres_only
async def test_a_dockerfile_build_context_linked_out_of_the_checkout_fails_clone(
    harness: Harness, git_repo: GitRepo, busybox_image: BusyboxImage, tmp_path: Path
) -> None:
    _commit_with_link(git_repo, "ctx", _outside(tmp_path, busybox_image), {})
    service = await harness.service(SourceSpec(type="DOCKERFILE", repository=git_repo.url, branch="main",
                                               build_context="ctx", ports=["127.0.0.1::8080"]))
    deployment = await harness.deploy(service)
    message = await assert_failed_at(harness, deployment, "CLONE", "CLONE_FAILED")
    assert message == "buildContext 'ctx' points outside the repository"
    assert harness.containers(service, running_only=False) == []
    assert harness.client.images.list(name=f"berth/{(await harness.project()).name}-production-{service.name}") == []
