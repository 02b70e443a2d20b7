"""Inventory validation: each bad input names its field and stores nothing; privilege policy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from berth.domain.errors import InvalidInput, NotPermitted, UserFacingError
from berth.domain.inventory import create_project, create_server, create_service, update_service
from berth.domain.specs import (
    EnvVarSpec,
    HealthCheckSpec,
    ProjectSpec,
    ServerSpec,
    ServiceSpec,
    ServiceUpdateSpec,
    SourceSpec,
)
from berth.models import Environment, Service
from berth.models.enums import SourceType
from tests.support.names import unique

from . import image_service, owner, project, raw_rows, row_counts, server

PEM_CERT = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
PEM_KEY = "-----BEGIN PRIVATE KEY-----\nMIIEfake\n-----END PRIVATE KEY-----\n"
SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA=\n-----END OPENSSH PRIVATE KEY-----\n"
KNOWN_HOSTS = "[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyMaterial\n"
COMPOSE = "services:\n  web:\n    image: nginx:alpine\n  debug:\n    image: busybox\n    profiles: [debug]\n"

IMAGE = SourceType.IMAGE
COMPOSE_T = SourceType.COMPOSE
DOCKERFILE = SourceType.DOCKERFILE
Call = Callable[[dict[str, Any]], Awaitable[Any]]


async def _server(**fields: Any) -> Any:
    values: dict[str, Any] = {"name": unique("srv"), "docker_host": "unix:///var/run/docker.sock"}
    return await create_server(owner(), ServerSpec(**{**values, **fields}))


async def _project(**fields: Any) -> Any:
    return await create_project(owner(), ProjectSpec(**{"name": unique("proj"), **fields}))


async def _service(ctx: dict[str, Any], source: SourceSpec | None = None, **fields: Any) -> Any:
    values: dict[str, Any] = {
        "project_id": ctx["project"].id,
        "environment": "production",
        "name": unique("svc"),
        "server_id": ctx["server"].id,
        "source": source or SourceSpec(type=IMAGE, image="nginx:alpine"),
    }
    return await create_service(owner(), ServiceSpec(**{**values, **fields}))


async def _update(ctx: dict[str, Any], **fields: Any) -> Any:
    return await update_service(owner(), ServiceUpdateSpec(service_id=ctx["service"].id, **fields))


def src(**fields: Any) -> SourceSpec:
    return SourceSpec(**{"type": IMAGE, **fields})


REPO = "https://example.test/team/app.git"
SSH_HOST = "ssh://root@10.0.0.2"
TCP_HOST = "tcp://10.0.0.1:2376"


def at(*parts: str) -> list[str]:
    return ["input", *parts]


def health(**fields: Any) -> HealthCheckSpec:
    return HealthCheckSpec(**{"kind": "HTTP", "port": 80, **fields})


# (id, call, expected field path): every one a distinct rule.
BAD_INPUTS: list[tuple[str, Call, list[str]]] = [
    ("server-name", lambda c: _server(name="Bad_Name"), at("name")),
    ("docker-host-scheme", lambda c: _server(docker_host="http://10.0.0.1:2375"), at("dockerHost")),
    ("tcp-without-port", lambda c: _server(docker_host="tcp://docker.example.test"), at("dockerHost")),
    ("ssh-without-known-hosts", lambda c: _server(docker_host=SSH_HOST, ssh_private_key=SSH_KEY),
     at("sshKnownHosts")),
    ("ssh-without-key", lambda c: _server(docker_host=SSH_HOST, ssh_known_hosts=KNOWN_HOSTS),
     at("sshPrivateKey")),
    ("tls-partial", lambda c: _server(docker_host=TCP_HOST, tls_ca_cert=PEM_CERT, tls_client_cert=PEM_CERT),
     at("tlsClientKey")),
    ("tls-not-pem", lambda c: _server(docker_host=TCP_HOST, tls_ca_cert="hello", tls_client_cert=PEM_CERT,
                                      tls_client_key=PEM_KEY), at("tlsCaCert")),
    ("max-queued", lambda c: _server(max_queued_deployments=0), at("maxQueuedDeployments")),
    ("max-concurrent", lambda c: _server(max_concurrent_deployments=101), at("maxConcurrentDeployments")),
    ("project-name", lambda c: _project(name="-proj"), at("name")),
    ("environment-name", lambda c: _project(environments=["staging", "Prod!"]), at("environments", "1")),
    ("service-name", lambda c: _service(c, name="web_1"), at("name")),
    ("image-reference", lambda c: _service(c, src(image="Team/App:v1")), at("source", "image")),
    ("image-digest", lambda c: _service(c, src(image="nginx@sha256:abc")), at("source", "image")),
    ("image-missing", lambda c: _service(c, src()), at("source", "image")),
    ("field-of-other-type", lambda c: _service(c, src(image="nginx", repository=REPO)),
     at("source", "repository")),
    ("git-url-http", lambda c: _service(c, src(type=DOCKERFILE, repository="http://example.test/a.git")),
     at("source", "repository")),
    ("git-url-file-disabled", lambda c: _service(c, src(type=DOCKERFILE, repository="file:///srv/repo")),
     at("source", "repository")),
    ("git-url-password",
     lambda c: _service(c, src(type=DOCKERFILE, repository="https://u:tok@example.test/a.git")),
     at("source", "repository")),
    ("dockerfile-without-repository", lambda c: _service(c, src(type=DOCKERFILE)),
     at("source", "repository")),
    ("branch-option-like",
     lambda c: _service(c, src(type=DOCKERFILE, repository=REPO, branch="--upload-pack=x")),
     at("source", "branch")),
    ("dockerfile-escapes",
     lambda c: _service(c, src(type=DOCKERFILE, repository=REPO, dockerfile="../Dockerfile")),
     at("source", "dockerfile")),
    ("compose-not-yaml", lambda c: _service(c, src(type=COMPOSE_T, compose_content="services: [\n")),
     at("source", "composeContent")),
    ("compose-no-services", lambda c: _service(c, src(type=COMPOSE_T, compose_content="version: '3'\n")),
     at("source", "composeContent")),
    ("compose-unknown-profile",
     lambda c: _service(c, src(type=COMPOSE_T, compose_content=COMPOSE, compose_profiles=["debug", "tools"])),
     at("source", "composeProfiles", "1")),
    ("compose-file-escapes",
     lambda c: _service(c, src(type=COMPOSE_T, repository=REPO, compose_files=["compose.yaml", "../x.yaml"])),
     at("source", "composeFiles", "1")),
    ("compose-nothing", lambda c: _service(c, src(type=COMPOSE_T)), at("source", "composeContent")),
    ("port-range", lambda c: _service(c, src(image="nginx", ports=["8080:80", "70000:80"])),
     at("source", "ports", "1")),
    ("port-syntax", lambda c: _service(c, src(image="nginx", ports=["localhost:80:80"])),
     at("source", "ports", "0")),
    ("volume-anonymous", lambda c: _service(c, src(image="nginx", volumes=["/data"])),
     at("source", "volumes", "0")),
    ("volume-relative-target", lambda c: _service(c, src(image="nginx", volumes=["data:data"])),
     at("source", "volumes", "0")),
    ("env-key", lambda c: _service(c, env=[EnvVarSpec("1BAD", "x")]), at("env", "0", "key")),
    ("env-duplicate", lambda c: _service(c, env=[EnvVarSpec("A", "x"), EnvVarSpec("A", "y")]),
     at("env", "1", "key")),
    ("health-kind", lambda c: _service(c, health_check=health(kind="PING")), at("healthCheck", "kind")),
    ("health-http-port", lambda c: _service(c, health_check=health(port=None)), at("healthCheck", "port")),
    ("health-path", lambda c: _service(c, health_check=health(path="health")), at("healthCheck", "path")),
    ("health-status", lambda c: _service(c, health_check=health(expected_status=[200, 600])),
     at("healthCheck", "expectedStatus")),
    ("health-interval",
     lambda c: _service(c, health_check=health(kind="TCP", timeout_seconds=5, interval_seconds=10)),
     at("healthCheck", "intervalSeconds")),
    ("health-timeout",
     lambda c: _service(c, health_check=health(kind="DOCKER", port=None, timeout_seconds=0)),
     at("healthCheck", "timeoutSeconds")),
    ("update-source", lambda c: _update(c, source=src(type=COMPOSE_T, compose_content="services: {}\n")),
     at("source", "composeContent")),
    ("update-env", lambda c: _update(c, env=[EnvVarSpec("OK", "1"), EnvVarSpec("NOT-OK", "2")]),
     at("env", "1", "key")),
]


@pytest.mark.parametrize("call,field", [(c, f) for _, c, f in BAD_INPUTS], ids=[i for i, _, _ in BAD_INPUTS])
async def test_bad_input_names_its_field_and_stores_nothing(db, call: Call, field: list[str]) -> None:
    ctx: dict[str, Any] = {"server": await server(), "project": await project()}
    ctx["service"] = await image_service(ctx["server"], ctx["project"])
    before = await row_counts()
    stored_service = await Service.get(id=ctx["service"].id)
    with pytest.raises(InvalidInput) as caught:
        await call(ctx)
    assert field in [error.field for error in caught.value.errors]
    assert all(error.code == "INVALID_INPUT" for error in caught.value.errors)
    assert await row_counts() == before
    unchanged = await Service.get(id=ctx["service"].id)
    assert (unchanged.source, unchanged.env, unchanged.updated_at) == (
        stored_service.source, stored_service.env, stored_service.updated_at
    )


async def test_every_problem_is_reported_at_once(db) -> None:
    ctx: dict[str, Any] = {"server": await server(), "project": await project()}
    with pytest.raises(InvalidInput) as caught:
        await _service(
            ctx,
            src(image="BAD", ports=["0"], volumes=["x"]),
            name="Bad",
            env=[EnvVarSpec("1", "v")],
            health_check=HealthCheckSpec(kind="HTTP"),
        )
    fields = {tuple(error.field or []) for error in caught.value.errors}
    assert fields >= {
        ("input", "name"),
        ("input", "source", "image"),
        ("input", "source", "ports", "0"),
        ("input", "source", "volumes", "0"),
        ("input", "env", "0", "key"),
        ("input", "healthCheck", "port"),
    }


async def test_valid_inputs_are_stored(db) -> None:
    ssh = await _server(docker_host="ssh://deploy@10.0.0.2:2222", ssh_private_key=SSH_KEY,
                        ssh_known_hosts=KNOWN_HOSTS, max_queued_deployments=5)
    assert ssh.max_queued_deployments == 5
    assert ssh.ssh_private_key_enc and SSH_KEY not in ssh.ssh_private_key_enc
    tls = await _server(docker_host="tcp://10.0.0.1:2376", tls_ca_cert=PEM_CERT, tls_client_cert=PEM_CERT,
                        tls_client_key=PEM_KEY)
    assert tls.tls_client_key_enc and "PRIVATE KEY" not in tls.tls_client_key_enc
    proj = await _project()
    # No environments given: the project gets "production".
    assert [e.name for e in await Environment.filter(project_id=proj.id)] == ["production"]
    ctx = {"server": tls, "project": proj}
    for source in (
        src(image="localhost:5000/team/app_x:v1.2-rc@sha256:" + "a" * 64,
            ports=["80", "8080:80", "127.0.0.1::80", "[::1]:8080:80/udp"],
            volumes=["app-data:/var/lib/app:ro"], command=["serve", "--port", "80"]),
        src(type=DOCKERFILE, repository="git@github.com:team/app.git", branch="release/1.2",
            dockerfile="docker/Dockerfile", build_context="."),
        src(type=COMPOSE_T, compose_content=COMPOSE, compose_profiles=["debug"]),
        src(type=COMPOSE_T, repository="ssh://git@example.test:22/team/app.git",
            compose_files=["compose.yaml"]),
    ):
        service = await _service(ctx, source, environment="staging",
                                 health_check=HealthCheckSpec(kind="HTTP", port=80, path="/health"))
        assert service.health_check == {"kind": "HTTP", "port": 80, "path": "/health", "expectedStatus": None,
                                        "timeoutSeconds": 60, "intervalSeconds": 2}
    # The environment was created on first use and found afterwards.
    assert await Environment.filter(project_id=proj.id, name="staging").count() == 1


async def test_file_repositories_follow_the_setting(db, monkeypatch: pytest.MonkeyPatch) -> None:
    from berth.settings import reset_settings

    monkeypatch.setenv("BERTH_ALLOW_FILE_REPOS", "1")
    reset_settings()
    ctx = {"server": await server(), "project": await project()}
    service = await _service(ctx, src(type=DOCKERFILE, repository="file:///srv/git/app"))
    assert service.source["repository"] == "file:///srv/git/app"


async def test_names_conflict(db) -> None:
    existing = await server()
    with pytest.raises(UserFacingError) as caught:
        await _server(name=existing.name)
    assert (caught.value.code, caught.value.field) == ("CONFLICT", ["input", "name"])
    ctx = {"server": existing, "project": await project()}
    first = await _service(ctx)
    before = await row_counts()
    with pytest.raises(UserFacingError) as caught:
        await _service(ctx, name=first.name)
    assert caught.value.code == "CONFLICT"
    assert await row_counts() == before


async def test_project_limited_credentials(db) -> None:
    mine, theirs = await project(), await project()
    limited = owner(project_ids=[mine.id])
    before = await row_counts()
    with pytest.raises(NotPermitted):
        await create_server(limited, ServerSpec(name=unique("srv"), docker_host="unix:///var/run/docker.sock"))
    with pytest.raises(NotPermitted):
        await create_project(limited, ProjectSpec(name=unique("proj")))
    target = await server()
    spec = ServiceSpec(project_id=theirs.id, environment="production", name="web", server_id=target.id,
                       source=src(image="nginx"))
    with pytest.raises(UserFacingError) as caught:
        await create_service(limited, spec)
    assert (caught.value.code, caught.value.field) == ("NOT_FOUND", ["input", "projectId"])
    other_service = await image_service(target, theirs)
    with pytest.raises(UserFacingError) as caught:
        await update_service(limited, ServiceUpdateSpec(service_id=other_service.id, auto_rollback=False))
    assert (caught.value.code, caught.value.field) == ("NOT_FOUND", ["input", "serviceId"])
    assert (await row_counts())["server"] == before["server"] + 1
    ok = await create_service(limited, ServiceSpec(project_id=mine.id, environment="production", name="web",
                                                   server_id=target.id, source=src(image="nginx")))
    assert ok.project_id == mine.id  # type: ignore[attr-defined]


async def test_missing_server_is_not_found(db) -> None:
    proj = await project()
    with pytest.raises(UserFacingError) as caught:
        await create_service(owner(), ServiceSpec(project_id=proj.id, environment="production", name="web",
                                                  server_id=987654, source=src(image="nginx")))
    assert (caught.value.code, caught.value.field) == ("NOT_FOUND", ["input", "serverId"])


async def test_update_service_replaces_given_parts_only(db) -> None:
    service = await image_service(env=[EnvVarSpec("A", "1")])
    updated = await update_service(owner(), ServiceUpdateSpec(
        service_id=service.id, source=src(image="nginx:1.27"), auto_rollback=False))
    assert updated.source["image"] == "nginx:1.27" and updated.auto_rollback is False
    assert updated.env == [{"key": "A", "secret": False, "value": "1"}]


PRIVILEGED_COMPOSE = {
    "privileged": "services:\n  web:\n    image: nginx\n    privileged: true\n",
    "network-host": "services:\n  web:\n    image: nginx\n    network_mode: host\n",
    "pid-host": "services:\n  web:\n    image: nginx\n    pid: host\n",
    "cap-add": "services:\n  web:\n    image: nginx\n    cap_add: [NET_ADMIN]\n",
    "devices": "services:\n  web:\n    image: nginx\n    devices: ['/dev/fuse:/dev/fuse']\n",
    "bind-short": "services:\n  web:\n    image: nginx\n    volumes: ['/etc:/host-etc:ro']\n",
    "bind-relative": "services:\n  web:\n    image: nginx\n    volumes: ['./data:/data']\n",
    "bind-long": (
        "services:\n  web:\n    image: nginx\n"
        "    volumes:\n      - {type: bind, source: /srv, target: /srv}\n"
    ),
    "bind-interpolated": "services:\n  web:\n    image: nginx\n    volumes: ['${SRC}:/data']\n",
    "driver-opts-bind": (
        "services:\n  web:\n    image: nginx\n    volumes: ['data:/data']\n"
        "volumes:\n  data:\n    driver_opts: {type: none, o: bind, device: /srv/data}\n"
    ),
}


@pytest.mark.parametrize("content", list(PRIVILEGED_COMPOSE.values()), ids=list(PRIVILEGED_COMPOSE))
async def test_privileged_compose_needs_allow_privileged(db, content: str) -> None:
    ctx = {"server": await server(), "project": await project()}
    before = await row_counts()
    with pytest.raises(InvalidInput) as caught:
        await _service(ctx, src(type=COMPOSE_T, compose_content=content))
    assert [e.field for e in caught.value.errors] == [["input", "source", "composeContent"]]
    assert "allowPrivileged" in caught.value.errors[0].message
    assert await row_counts() == before
    allowed = {"server": await server(allow_privileged=True), "project": ctx["project"]}
    service = await _service(allowed, src(type=COMPOSE_T, compose_content=content))
    assert service.source["composeContent"] == content


async def test_host_bind_volume_needs_allow_privileged(db) -> None:
    ctx: dict[str, Any] = {"server": await server(), "project": await project()}
    before = await row_counts()
    with pytest.raises(InvalidInput) as caught:
        await _service(ctx, src(image="nginx", volumes=["data:/data", "/srv/www:/usr/share/nginx/html:ro"]))
    assert [e.field for e in caught.value.errors] == [["input", "source", "volumes", "1"]]
    with pytest.raises(InvalidInput):
        await _update({"service": await image_service(ctx["server"], ctx["project"])},
                      source=src(image="nginx", volumes=["~/x:/x"]))
    assert (await row_counts())["service"] == before["service"] + 1
    allowed = {"server": await server(allow_privileged=True), "project": ctx["project"]}
    service = await _service(allowed, src(image="nginx", volumes=["/srv/www:/usr/share/nginx/html:ro"]))
    assert service.source["volumes"] == ["/srv/www:/usr/share/nginx/html:ro"]


async def test_secret_material_is_encrypted_at_rest(db) -> None:
    secret_value = "s3cr3t-value-" + unique("x")
    await _server(docker_host="ssh://deploy@10.0.0.2", ssh_private_key=SSH_KEY, ssh_known_hosts=KNOWN_HOSTS)
    await _server(docker_host="tcp://10.0.0.1:2376", tls_ca_cert=PEM_CERT, tls_client_cert=PEM_CERT,
                  tls_client_key=PEM_KEY)
    await image_service(env=[EnvVarSpec("API_TOKEN", secret_value, secret=True), EnvVarSpec("MODE", "prod")])
    servers = await raw_rows("server")
    assert "OPENSSH PRIVATE KEY" not in servers and "BEGIN PRIVATE KEY" not in servers
    assert "BEGIN CERTIFICATE" not in servers
    services = await raw_rows("service")
    assert secret_value not in services and "prod" in services


async def test_a_new_environment_is_created_with_the_service_up_to_the_limit(db) -> None:
    from berth.domain.limits import MAX_ENVIRONMENTS

    names = [f"env-{index}" for index in range(MAX_ENVIRONMENTS)]
    ctx = {"server": await server(), "project": await _project(environments=names[:-1])}
    created = await _service(ctx, environment=names[-1])  # the 100th: created, and stored with the service
    assert (await Environment.get(id=created.environment_id)).name == names[-1]  # type: ignore[attr-defined]
    before = await row_counts()
    with pytest.raises(InvalidInput) as caught:
        await _service(ctx, environment="one-too-many")
    assert [e.field for e in caught.value.errors] == [at("environment")]
    assert await row_counts() == before
    await _service(ctx, environment=names[0])  # an existing environment is still found


async def test_a_credential_in_a_repository_url_is_never_stored_nor_repeated(db) -> None:
    ctx = {"server": await server(), "project": await project()}
    before = await row_counts()
    for url in ("https://ghp_TOKEN123@example.test/team/app.git", "ssh://git:hunter2pw@example.test/app.git"):
        with pytest.raises(InvalidInput) as caught:
            await _service(ctx, src(type=DOCKERFILE, repository=url))
        assert [e.field for e in caught.value.errors] == [at("source", "repository")]
        assert "gitAuth" in caught.value.message
        assert "TOKEN123" not in repr(caught.value.errors) and "hunter2pw" not in repr(caught.value.errors)
    assert await row_counts() == before
    assert "TOKEN123" not in await raw_rows("service")


def _sized(length: int, prefix: str = "", suffix: str = "", fill: str = "a") -> str:
    return prefix + fill * (length - len(prefix) - len(suffix)) + suffix


# (field, the largest accepted call, the same one character longer): the documented limits.
def _boundaries() -> list[tuple[str, Callable[[dict[str, Any], int], Awaitable[Any]], int, list[str]]]:
    from berth.domain import grammars, limits

    digest = "@sha256:" + "a" * 64
    return [
        ("repository", lambda c, n: _service(c, src(type=DOCKERFILE, repository=_sized(
            n, "https://example.test/", ".git"))), limits.MAX_REPOSITORY_URL, at("source", "repository")),
        ("image", lambda c, n: _service(c, src(image=_sized(n - 1 - grammars.MAX_TAG - len(digest), "r.test/")
                                               + ":" + "t" * grammars.MAX_TAG + digest)),
         grammars.MAX_IMAGE_REFERENCE, at("source", "image")),
        ("volume", lambda c, n: _service(c, src(image="nginx", volumes=[_sized(n, "data:/", fill="d")])),
         limits.MAX_VOLUME_SPEC, at("source", "volumes", "0")),
        ("command", lambda c, n: _service(c, src(image="nginx", command=["sh", "x" * n])),
         limits.MAX_COMMAND_ARG, at("source", "command", "1")),
        ("dockerfile", lambda c, n: _service(c, src(type=DOCKERFILE, repository=REPO, dockerfile="d" * n)),
         limits.MAX_PATH, at("source", "dockerfile")),
        ("compose-content", lambda c, n: _service(c, src(type=COMPOSE_T, compose_content=_sized(
            n, "services:\n  web:\n    image: nginx\n", "\n", fill="#"))),
         limits.MAX_COMPOSE_CONTENT, at("source", "composeContent")),
        ("env-key", lambda c, n: _service(c, env=[EnvVarSpec("K" * n, "v")]), limits.MAX_ENV_KEY,
         at("env", "0", "key")),
        ("env-value", lambda c, n: _service(c, env=[EnvVarSpec("K", "v" * n, secret=True)]),
         limits.MAX_ENV_VALUE, at("env", "0", "value")),
        ("health-path", lambda c, n: _service(c, health_check=health(path=_sized(n, "/"))),
         limits.MAX_HEALTH_PATH, at("healthCheck", "path")),
        ("known-hosts", lambda c, n: _server(docker_host=SSH_HOST, ssh_private_key=SSH_KEY,
                                             ssh_known_hosts=_sized(n, KNOWN_HOSTS, fill="#")),
         limits.MAX_KEY_MATERIAL, at("sshKnownHosts")),
    ]


@pytest.mark.parametrize("index", range(10), ids=[
    "repository", "image", "volume", "command", "dockerfile", "compose-content", "env-key", "env-value",
    "health-path", "known-hosts"])
async def test_limits_at_the_boundary(db, index: int) -> None:
    name, call, limit, field = _boundaries()[index]
    ctx: dict[str, Any] = {"server": await server(), "project": await project()}
    await call(ctx, limit)
    before = await row_counts()
    with pytest.raises(InvalidInput) as caught:
        await call(ctx, limit + 1)
    assert field in [e.field for e in caught.value.errors], name
    assert await row_counts() == before
