"""Registry credentials on real Docker, against the private registry of the test services
(127.0.0.1:5443: TLS trusted through /etc/docker/certs.d, htpasswd auth, one private image):
an anonymous pull is refused, the project's credential deploys IMAGE, a private FROM of a
DOCKERFILE build and a COMPOSE service; a wrong password fails PULL with REGISTRY_AUTH; the
password is in no record, log line, process list or file left behind."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest
from tortoise import connections

from berth.domain.registry_credentials import create_registry_credential
from berth.domain.specs import RegistryCredentialSpec, SourceSpec
from berth.models import Deployment, RegistryCredential, Service
from tests.docker_fixtures import GIT_VERSION, GitRepo, app_page
from tests.runner.conftest import postgres_only, sqlite_only
from tests.runner.executor_support import Harness, owner
from tests.runner.test_compose_v2_executor import compose_v2  # noqa: F401 (a fixture)
from tests.runner.test_executor_image import app, assert_failed_at, assert_succeeded
from tests.services import (
    PRIVATE_IMAGE,
    PRIVATE_REGISTRY,
    PRIVATE_REGISTRY_PASSWORD,
    PRIVATE_REGISTRY_USER,
    skip_or_fail,
)

PAGE = "private-v1"
RECORD_TABLES = ("deployment", "deployment_step", "deployment_event", "log_line", "registry_credential",
                 "observation", "service")


@pytest.fixture
def private_image(docker_client: docker.DockerClient) -> Iterator[str]:
    """The private image, not on the daemon: each test's pull has to fetch it."""
    if not (PRIVATE_REGISTRY and PRIVATE_IMAGE and PRIVATE_REGISTRY_PASSWORD):
        skip_or_fail("the private registry (BERTH_TEST_PRIVATE_REGISTRY…, scripts/test-services)")

    def forget() -> None:
        with contextlib.suppress(docker.errors.ImageNotFound, docker.errors.APIError):
            docker_client.images.remove(PRIVATE_IMAGE, force=True)

    forget()
    yield PRIVATE_IMAGE
    forget()


async def add_credential(harness: Harness, password: str = PRIVATE_REGISTRY_PASSWORD) -> RegistryCredential:
    project = await harness.project()
    return await create_registry_credential(owner(), RegistryCredentialSpec(
        project_id=project.id, registry=PRIVATE_REGISTRY, username=PRIVATE_REGISTRY_USER, password=password))


class ProcessWatch:
    """Samples every process's command line while a deployment runs."""

    def __init__(self) -> None:
        self.samples: list[str] = []
        self.started = time.time() - 1  # file times have coarse resolution on some filesystems
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout)
            self._stop.wait(0.05)

    def __enter__(self) -> ProcessWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def records_text() -> str:
    conn = connections.get("default")
    parts = []
    for table in RECORD_TABLES:
        parts.append(repr(await conn.execute_query_dict(f"SELECT * FROM {table}")))
    return "\n".join(parts)


def files_holding(secret: str, roots: list[Path], since: float) -> list[Path]:
    """Files written since `since` that hold the secret (the test services' env file, older,
    holds it on purpose)."""
    found = []
    for root in roots:
        # Other tests' temp dirs come and go meanwhile: what vanishes is skipped.
        for directory, _, names in os.walk(root):
            for name in names:
                path = Path(directory) / name
                with contextlib.suppress(OSError):
                    if path.is_file() and not path.is_symlink() and path.stat().st_mtime >= since \
                            and path.stat().st_size < 1 << 20 and secret.encode() in path.read_bytes():
                        found.append(path)
    return found


async def deploy_watched(harness: Harness, service: Service) -> tuple[Deployment, ProcessWatch]:
    with ProcessWatch() as watch:
        deployment = await harness.deploy(service)
    assert watch.samples
    return deployment, watch


async def assert_secret_nowhere(harness: Harness, deployment: Deployment, watch: ProcessWatch) -> None:
    secret = PRIVATE_REGISTRY_PASSWORD
    assert not [sample for sample in watch.samples if secret in sample]
    assert secret not in await records_text()
    assert all(secret not in line.text for line in await harness.logs(deployment.id))
    roots = [Path(tempfile.gettempdir())]
    workdir = os.environ.get("BERTH_WORKDIR")
    if workdir:
        roots.append(Path(workdir))
    assert files_holding(secret, roots, watch.started) == []


@postgres_only
async def test_anonymous_pull_is_refused_and_the_credential_deploys_the_image(
    harness: Harness, private_image: str
) -> None:
    service = await harness.service(app(private_image))
    anonymous = await harness.deploy(service)
    # Refused at PULL. (On loopback the daemon falls back to plain HTTP after the registry's
    # 401, so its last word is a reset connection rather than "unauthorized": the code is
    # PULL_FAILED here, REGISTRY_AUTH where the refusal is the last word.)
    message = await assert_failed_at(harness, anonymous, "PULL", str(anonymous.error["code"]))
    assert anonymous.error["code"] in ("PULL_FAILED", "REGISTRY_AUTH"), message

    credential = await add_credential(harness)
    assert credential.last_used_at is None
    deployment, watch = await deploy_watched(harness, service)
    assert_succeeded(deployment)
    assert harness.serving(service) == PAGE + "\n"
    assert (await RegistryCredential.get(id=credential.id)).last_used_at is not None
    assert deployment.frozen_input["imageDigest"].startswith(f"{PRIVATE_REGISTRY}/private/app@sha256:")
    await assert_secret_nowhere(harness, deployment, watch)


@postgres_only
async def test_a_wrong_password_fails_pull_with_registry_auth(harness: Harness, private_image: str) -> None:
    await add_credential(harness, password="not-the-password-1234")
    service = await harness.service(app(private_image))
    deployment = await harness.deploy(service)
    message = await assert_failed_at(harness, deployment, "PULL", "REGISTRY_AUTH")
    assert PRIVATE_REGISTRY in message and "not-the-password-1234" not in message
    assert all("not-the-password-1234" not in line.text for line in await harness.logs(deployment.id))


@postgres_only
async def test_a_private_from_builds_with_the_credential(
    harness: Harness, git_repo: GitRepo, private_image: str
) -> None:
    git_repo.commit({"Dockerfile": f"FROM {private_image}\nCOPY app/ /\n"}, "FROM the private image")
    await add_credential(harness)
    service = await harness.service(SourceSpec(type="DOCKERFILE", repository=git_repo.url, branch="main",
                                               ports=["127.0.0.1::8080"]))
    deployment, watch = await deploy_watched(harness, service)
    assert_succeeded(deployment)
    assert harness.serving(service) == app_page(GIT_VERSION)  # the repository's page on the private base
    await assert_secret_nowhere(harness, deployment, watch)


@sqlite_only
async def test_a_private_from_with_a_wrong_password_fails_build_with_registry_auth(
    harness: Harness, git_repo: GitRepo, private_image: str
) -> None:
    git_repo.commit({"Dockerfile": f"FROM {private_image}\nCOPY app/ /\n"}, "FROM the private image")
    await add_credential(harness, password="not-the-password-1234")
    service = await harness.service(SourceSpec(type="DOCKERFILE", repository=git_repo.url, branch="main",
                                               ports=["127.0.0.1::8080"]))
    deployment = await harness.deploy(service)
    message = await assert_failed_at(harness, deployment, "BUILD", "REGISTRY_AUTH")
    assert PRIVATE_REGISTRY in message and "not-the-password-1234" not in message


def private_compose(image: str) -> str:
    return f"services:\n  web:\n    image: {image}\n    ports:\n      - \"127.0.0.1::8080\"\n"


async def assert_compose_pulls_with_the_credential(harness: Harness, image: str) -> None:
    await add_credential(harness)
    service = await harness.service(SourceSpec(type="COMPOSE", compose_content=private_compose(image)))
    deployment, watch = await deploy_watched(harness, service)
    assert_succeeded(deployment)
    assert harness.serving(service) == PAGE + "\n"
    await assert_secret_nowhere(harness, deployment, watch)


@sqlite_only
async def test_a_compose_v1_service_pulls_with_the_credential(harness: Harness, private_image: str) -> None:
    await assert_compose_pulls_with_the_credential(harness, private_image)


@postgres_only
@pytest.mark.usefixtures("compose_v2")
async def test_a_compose_v2_service_pulls_with_the_credential(harness: Harness, private_image: str) -> None:
    await assert_compose_pulls_with_the_credential(harness, private_image)


@sqlite_only
async def test_compose_without_the_credential_fails_pull(harness: Harness, private_image: str) -> None:
    await add_credential(harness, password="not-the-password-1234")
    service = await harness.service(SourceSpec(type="COMPOSE", compose_content=private_compose(private_image)))
    deployment = await harness.deploy(service)
    message = await assert_failed_at(harness, deployment, "PULL", "REGISTRY_AUTH")
    assert PRIVATE_REGISTRY in message and "not-the-password-1234" not in message

