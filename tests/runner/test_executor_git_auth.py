"""Git credentials on real git servers: a DOCKERFILE repository behind HTTPS basic auth
(`git http-backend`, scripts/git-https-server) cloned with a token, and one over ssh (an sshd
whose user has git-shell for a shell) cloned with a deploy key pinned by known_hosts. Without
the credential, with a wrong one, or with a wrong host key pin, CLONE fails with GIT_AUTH; the
token and the key are in no record, log line, process list or file left behind."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from berth.domain.specs import GitAuthSpec, SourceSpec
from tests.docker_fixtures import GIT_VERSION, GitRepo, app_page
from tests.runner.conftest import postgres_only, sqlite_only
from tests.runner.executor_support import Harness
from tests.runner.test_executor_image import assert_failed_at, assert_succeeded
from tests.runner.test_executor_registry import ProcessWatch, files_holding, records_text
from tests.services import (
    GIT_HTTPS_ROOT,
    GIT_HTTPS_TOKEN,
    GIT_HTTPS_URL,
    GIT_HTTPS_USER,
    GIT_SSH_KEY,
    GIT_SSH_KNOWN_HOSTS,
    GIT_SSH_ROOT,
    GIT_SSH_URL,
    GIT_SSH_USER,
    skip_or_fail,
)

OTHER_HOST_KEY = "[127.0.0.1]:2223 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBerthTestsWrongHostKeyPinnedHere00000\n"


@pytest.fixture
def https_repo(git_repo: GitRepo) -> Iterator[str]:
    """The test repository, served by the HTTPS git server (basic auth)."""
    if not (GIT_HTTPS_URL and GIT_HTTPS_TOKEN):
        skip_or_fail("git over HTTPS (BERTH_TEST_GIT_HTTPS_…, scripts/test-services)")
    name = f"berth-test-{uuid.uuid4().hex[:10]}.git"
    served = GIT_HTTPS_ROOT / name
    subprocess.run(["git", "clone", "--quiet", "--bare", str(git_repo.path), str(served)], check=True)
    try:
        yield f"{GIT_HTTPS_URL}/{name}"
    finally:
        shutil.rmtree(served, ignore_errors=True)


def dockerfile(url: str, auth: GitAuthSpec | None) -> SourceSpec:
    return SourceSpec(type="DOCKERFILE", repository=url, branch="main", ports=["127.0.0.1::8080"], git_auth=auth)


async def assert_nowhere(harness: Harness, secret: str, deployment_id: int, watch: ProcessWatch) -> None:
    assert not [sample for sample in watch.samples if secret in sample]
    assert secret not in await records_text()
    assert all(secret not in line.text for line in await harness.logs(deployment_id))
    assert files_holding(secret, [Path("/tmp")], watch.started) == []


@postgres_only
async def test_https_token_clones_and_deploys(harness: Harness, https_repo: str) -> None:
    service = await harness.service(dockerfile(https_repo, GitAuthSpec(username=GIT_HTTPS_USER,
                                                                       token=GIT_HTTPS_TOKEN)))
    assert service.git_auth["kind"] == "https" and GIT_HTTPS_TOKEN not in repr(service.git_auth)
    with ProcessWatch() as watch:
        deployment = await harness.deploy(service)
    assert_succeeded(deployment)
    assert harness.serving(service) == app_page(GIT_VERSION)
    assert deployment.frozen_input["gitAuth"] == {"kind": "https", "username": GIT_HTTPS_USER}
    assert deployment.declared_config["gitAuth"] == {"kind": "https", "username": GIT_HTTPS_USER}
    await assert_nowhere(harness, GIT_HTTPS_TOKEN, deployment.id, watch)


@sqlite_only
async def test_https_without_or_with_a_wrong_token_fails_clone_with_git_auth(
    harness: Harness, https_repo: str
) -> None:
    anonymous = await harness.deploy(await harness.service(dockerfile(https_repo, None)))
    await assert_failed_at(harness, anonymous, "CLONE", "GIT_AUTH")
    wrong = "not-the-token-0123456789"
    refused = await harness.deploy(await harness.service(dockerfile(
        https_repo, GitAuthSpec(username=GIT_HTTPS_USER, token=wrong))))
    message = await assert_failed_at(harness, refused, "CLONE", "GIT_AUTH")
    assert wrong not in message
    assert all(wrong not in line.text for line in await harness.logs(refused.id))


@pytest.fixture
def ssh_repo(git_repo: GitRepo) -> Iterator[str]:
    """The test repository, served over ssh by the git-shell user."""
    if not (GIT_SSH_URL and GIT_SSH_KEY.is_file()):
        skip_or_fail("git over ssh (BERTH_TEST_GIT_SSH_…, scripts/test-services)")
    served = GIT_SSH_ROOT / f"berth-test-{uuid.uuid4().hex[:10]}.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(git_repo.path), str(served)], check=True)
    subprocess.run(["chown", "-R", GIT_SSH_USER, str(served)], check=True)
    try:
        yield f"{GIT_SSH_URL}{served}"
    finally:
        shutil.rmtree(served, ignore_errors=True)


def ssh_auth(known_hosts: str | None = None) -> GitAuthSpec:
    return GitAuthSpec(ssh_private_key=GIT_SSH_KEY.read_text(),
                       ssh_known_hosts=known_hosts if known_hosts is not None else GIT_SSH_KNOWN_HOSTS.read_text())


@postgres_only
async def test_ssh_deploy_key_clones_and_a_wrong_host_key_pin_is_refused(harness: Harness, ssh_repo: str) -> None:
    service = await harness.service(dockerfile(ssh_repo, ssh_auth()))
    with ProcessWatch() as watch:
        deployment = await harness.deploy(service)
    assert_succeeded(deployment)
    assert harness.serving(service) == app_page(GIT_VERSION)
    assert deployment.frozen_input["gitAuth"] == {"kind": "ssh", "username": None}
    key_line = GIT_SSH_KEY.read_text().strip().splitlines()[1]
    await assert_nowhere(harness, key_line, deployment.id, watch)

    pinned_wrong = await harness.deploy(await harness.service(dockerfile(ssh_repo, ssh_auth(OTHER_HOST_KEY))))
    message = await assert_failed_at(harness, pinned_wrong, "CLONE", "GIT_AUTH")
    assert "host key" in message.lower()


@sqlite_only
async def test_ssh_without_git_auth_fails_clone_with_git_auth(harness: Harness, ssh_repo: str) -> None:
    anonymous = await harness.deploy(await harness.service(dockerfile(ssh_repo, None)))
    await assert_failed_at(harness, anonymous, "CLONE", "GIT_AUTH")
