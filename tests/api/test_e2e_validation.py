"""Bad input through the real server (CONTRACT §6): every case answers INVALID_INPUT with the
offending field's path, returns no object, and leaves every row of the database as it was;
and the privilege policy, case by case, refused on an ordinary server and allowed on one with
`allowPrivileged`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.domain import succeed
from tests.support.names import unique

from .conftest import SERVICE_FIELDS, Api, pk

REPO = "https://git.example.test/team/app.git"
SSH_HOST = "ssh://root@10.0.0.2"
TCP_HOST = "tcp://10.0.0.1:2376"
SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA=\n-----END OPENSSH PRIVATE KEY-----\n"
PEM_CERT = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
COMPOSE = "services:\n  web:\n    image: nginx:alpine\n  debug:\n    image: busybox\n    profiles: [debug]\n"


@dataclass
class World:
    """What the bad inputs are aimed at: a server, a project, services of two source types,
    a QUEUED deployment and another service's SUCCEEDED one."""

    api: Api
    server: dict[str, Any]
    project: dict[str, Any]
    image: dict[str, Any]
    dockerfile: dict[str, Any]
    queued: dict[str, Any]
    other_succeeded: dict[str, Any]

    async def server_input(self, **fields: Any) -> dict[str, Any]:
        return await self.api.mutate("createServer", {"name": unique("srv"), "dockerHost": "unix:///x.sock",
                                                      **fields}, "server { id }")

    async def project_input(self, **fields: Any) -> dict[str, Any]:
        return await self.api.mutate("createProject", {"name": unique("proj"), **fields}, "project { id }")

    async def service_input(self, source: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        values = {
            "projectId": self.project["id"], "environment": "production", "name": unique("svc"),
            "serverId": self.server["id"], "source": source or {"type": "IMAGE", "image": "nginx:alpine"},
            **fields,
        }
        return await self.api.mutate("createService", values, "service { id }")

    async def update_input(self, **fields: Any) -> dict[str, Any]:
        return await self.api.mutate("updateService", {"serviceId": self.image["id"], **fields}, "service { id }")

    async def start_input(self, service: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        values = {"serviceId": (service or self.image)["id"], **fields}
        return await self.api.mutate("startDeployment", values, "deployment { id }")

    async def cancel_input(self, **fields: Any) -> dict[str, Any]:
        return await self.api.mutate("cancelDeployment", {"deploymentId": self.queued["id"], **fields},
                                     "deployment { id }")

    async def rollback_input(self, **fields: Any) -> dict[str, Any]:
        return await self.api.mutate("rollbackDeployment", {"serviceId": self.image["id"], **fields},
                                     "deployment { id }")


async def make_world(api: Api) -> World:
    """Built once per server: the bad inputs change nothing (each test checks just that)."""
    if "world" not in api.server.cache:
        api.server.cache["world"] = await _build_world(api)
    return World(api, **api.server.cache["world"])


async def _build_world(api: Api) -> dict[str, Any]:
    server = await api.create_server()
    project = await api.create_project()
    image = await api.create_service(server, project)
    dockerfile = await api.create_service(server, project, {"type": "DOCKERFILE", "repository": REPO})
    queued = await api.start(image, selection="id")
    other = await api.start(dockerfile, selection="id")
    await succeed(pk(other["id"]), commitSha="a" * 40)
    return {"server": server, "project": project, "image": image, "dockerfile": dockerfile, "queued": queued,
            "other_succeeded": other}


def src(**fields: Any) -> dict[str, Any]:
    return {"type": "IMAGE", **fields}


def health(**fields: Any) -> dict[str, Any]:
    return {"kind": "HTTP", "port": 80, **fields}


def at(*parts: str) -> list[str]:
    return ["input", *parts]


Case = Callable[[World], Awaitable[dict[str, Any]]]

# (id, call, field path): each a distinct rule, reached through a different mutation input.
BAD_INPUTS: list[tuple[str, Case, list[str]]] = [
    ("server-name", lambda w: w.server_input(name="Bad_Name"), at("name")),
    ("server-docker-host-scheme", lambda w: w.server_input(dockerHost="http://10.0.0.1:2375"), at("dockerHost")),
    ("server-docker-host-length", lambda w: w.server_input(dockerHost="unix:///" + "x" * 600), at("dockerHost")),
    ("server-docker-host-control", lambda w: w.server_input(dockerHost="unix:///a\x00b"), at("dockerHost")),
    ("server-known-hosts-nul", lambda w: w.server_input(dockerHost=SSH_HOST, sshPrivateKey=SSH_KEY,
                                                        sshKnownHosts="10.0.0.2 ssh-ed25519 AAAA\x00"),
     at("sshKnownHosts")),
    ("server-tcp-without-port", lambda w: w.server_input(dockerHost="tcp://docker.example.test"), at("dockerHost")),
    ("server-ssh-without-known-hosts", lambda w: w.server_input(dockerHost=SSH_HOST, sshPrivateKey=SSH_KEY),
     at("sshKnownHosts")),
    ("server-tls-partial", lambda w: w.server_input(dockerHost=TCP_HOST, tlsCaCert=PEM_CERT,
                                                    tlsClientCert=PEM_CERT), at("tlsClientKey")),
    ("server-max-queued", lambda w: w.server_input(maxQueuedDeployments=0), at("maxQueuedDeployments")),
    ("server-max-concurrent", lambda w: w.server_input(maxConcurrentDeployments=101),
     at("maxConcurrentDeployments")),
    ("project-name", lambda w: w.project_input(name="-proj"), at("name")),
    ("project-environment-name", lambda w: w.project_input(environments=["staging", "Prod!"]),
     at("environments", "1")),
    ("service-name", lambda w: w.service_input(name="web_1"), at("name")),
    ("service-environment-name", lambda w: w.service_input(environment="Prod"), at("environment")),
    ("image-reference", lambda w: w.service_input(src(image="Team/App:v1")), at("source", "image")),
    ("image-missing", lambda w: w.service_input(src()), at("source", "image")),
    ("git-url-http", lambda w: w.service_input(src(type="DOCKERFILE", repository="http://example.test/a.git")),
     at("source", "repository")),
    ("git-url-file-disabled", lambda w: w.service_input(src(type="DOCKERFILE", repository="file:///srv/repo")),
     at("source", "repository")),
    ("git-url-password",
     lambda w: w.service_input(src(type="DOCKERFILE", repository="https://u:tok@example.test/a.git")),
     at("source", "repository")),
    ("git-url-token",
     lambda w: w.service_input(src(type="DOCKERFILE", repository="https://ghp_tok@example.test/a.git")),
     at("source", "repository")),
    ("repository-length",
     lambda w: w.service_input(src(type="DOCKERFILE", repository="https://example.test/" + "a" * 2028)),
     at("source", "repository")),
    ("branch-option-like",
     lambda w: w.service_input(src(type="DOCKERFILE", repository=REPO, branch="--upload-pack=x")),
     at("source", "branch")),
    ("dockerfile-escapes",
     lambda w: w.service_input(src(type="DOCKERFILE", repository=REPO, dockerfile="../Dockerfile")),
     at("source", "dockerfile")),
    ("compose-not-yaml", lambda w: w.service_input(src(type="COMPOSE", composeContent="services: [\n")),
     at("source", "composeContent")),
    ("compose-no-services", lambda w: w.service_input(src(type="COMPOSE", composeContent="version: '3'\n")),
     at("source", "composeContent")),
    ("compose-unknown-profile",
     lambda w: w.service_input(src(type="COMPOSE", composeContent=COMPOSE, composeProfiles=["debug", "tools"])),
     at("source", "composeProfiles", "1")),
    ("compose-file-escapes",
     lambda w: w.service_input(src(type="COMPOSE", repository=REPO, composeFiles=["compose.yaml", "../x.yaml"])),
     at("source", "composeFiles", "1")),
    ("port-range", lambda w: w.service_input(src(image="nginx", ports=["8080:80", "70000:80"])),
     at("source", "ports", "1")),
    ("volume-anonymous", lambda w: w.service_input(src(image="nginx", volumes=["/data"])),
     at("source", "volumes", "0")),
    ("env-key", lambda w: w.service_input(env=[{"key": "1BAD", "value": "x"}]), at("env", "0", "key")),
    ("env-duplicate", lambda w: w.service_input(env=[{"key": "A", "value": "x"}, {"key": "A", "value": "y"}]),
     at("env", "1", "key")),
    ("health-kind", lambda w: w.service_input(healthCheck=health(kind="PING")), at("healthCheck", "kind")),
    ("health-http-port", lambda w: w.service_input(healthCheck={"kind": "HTTP"}), at("healthCheck", "port")),
    ("health-path", lambda w: w.service_input(healthCheck=health(path="health")), at("healthCheck", "path")),
    ("health-path-control", lambda w: w.service_input(healthCheck=health(path="/a\x00")),
     at("healthCheck", "path")),
    ("health-status", lambda w: w.service_input(healthCheck=health(expectedStatus=[200, 600])),
     at("healthCheck", "expectedStatus")),
    ("health-interval", lambda w: w.service_input(healthCheck=health(timeoutSeconds=5, intervalSeconds=10)),
     at("healthCheck", "intervalSeconds")),
    ("update-source", lambda w: w.update_input(source=src(type="COMPOSE", composeContent="services: {}\n")),
     at("source", "composeContent")),
    ("update-env", lambda w: w.update_input(env=[{"key": "OK", "value": "1"}, {"key": "NOT-OK", "value": "2"}]),
     at("env", "1", "key")),
    ("start-tag-on-dockerfile", lambda w: w.start_input(w.dockerfile, imageTag="v2"), at("imageTag")),
    ("start-tag-syntax", lambda w: w.start_input(imageTag="-v2"), at("imageTag")),
    ("start-ref-on-image", lambda w: w.start_input(ref="main"), at("ref")),
    ("start-ref-syntax", lambda w: w.start_input(w.dockerfile, ref="a..b"), at("ref")),
    ("start-reason-length", lambda w: w.start_input(reason="x" * 2001), at("reason")),
    ("start-reason-nul", lambda w: w.start_input(reason="a\x00b"), at("reason")),
    ("start-idempotency-key-length", lambda w: w.start_input(idempotencyKey="k" * 256), at("idempotencyKey")),
    ("cancel-reason-length", lambda w: w.cancel_input(reason="x" * 2001), at("reason")),
    ("cancel-reason-nul", lambda w: w.cancel_input(reason="a\x00b"), at("reason")),
    ("rollback-reason-nul", lambda w: w.rollback_input(reason="a\x00b"), at("reason")),
    ("rollback-target-of-other-service", lambda w: w.rollback_input(toDeploymentId=w.other_succeeded["id"]),
     at("toDeploymentId")),
    ("rollback-target-not-succeeded", lambda w: w.rollback_input(toDeploymentId=w.queued["id"]),
     at("toDeploymentId")),
]


@pytest.mark.parametrize("call,field", [(c, f) for _, c, f in BAD_INPUTS], ids=[i for i, _, _ in BAD_INPUTS])
async def test_bad_input_is_refused_with_its_field_and_stores_nothing(
    api: Api, call: Case, field: list[str]
) -> None:
    world = await make_world(api)
    before = await api.snapshot()
    payload = await call(world)
    assert next(iter(v for k, v in payload.items() if k != "errors")) is None, payload
    assert payload["errors"], payload
    assert {error["code"] for error in payload["errors"]} == {"INVALID_INPUT"}, payload
    assert field in [error["field"] for error in payload["errors"]], payload
    assert all(error["message"] for error in payload["errors"])
    assert await api.snapshot() == before


async def test_every_problem_is_reported_in_one_answer(api: Api) -> None:
    world = await make_world(api)
    before = await api.snapshot()
    payload = await world.service_input(
        src(image="BAD", ports=["0"], volumes=["x"]), name="Bad",
        env=[{"key": "1", "value": "v"}], healthCheck={"kind": "HTTP"},
    )
    assert payload["service"] is None
    assert {tuple(error["field"]) for error in payload["errors"]} >= {
        ("input", "name"), ("input", "source", "image"), ("input", "source", "ports", "0"),
        ("input", "source", "volumes", "0"), ("input", "env", "0", "key"), ("input", "healthCheck", "port"),
    }
    assert await api.snapshot() == before


async def test_unknown_references_are_not_found_and_store_nothing(api: Api) -> None:
    world = await make_world(api)
    before = await api.snapshot()
    missing_server = await world.service_input(serverId="U2VydmVyOjk5OTk5OQ")  # Server:999999
    assert [(e["code"], e["field"]) for e in missing_server["errors"]] == [("NOT_FOUND", at("serverId"))]
    wrong_type = await world.start_input({"id": world.project["id"]})
    assert [(e["code"], e["field"]) for e in wrong_type["errors"]] == [("NOT_FOUND", at("serviceId"))]
    assert await api.snapshot() == before


# ---------------------------------------------------------------- privilege policy

PRIVILEGED_COMPOSE = {
    "privileged": "services:\n  app:\n    image: nginx\n    privileged: true\n",
    "host-network": "services:\n  app:\n    image: nginx\n    network_mode: host\n",
    "host-pid": "services:\n  app:\n    image: nginx\n    pid: host\n",
    "cap-add": "services:\n  app:\n    image: nginx\n    cap_add: [NET_ADMIN]\n",
    "devices": "services:\n  app:\n    image: nginx\n    devices: ['/dev/fuse:/dev/fuse']\n",
    "bind-short": "services:\n  app:\n    image: nginx\n    volumes: ['/var/run/docker.sock:/var/run/docker.sock']\n",
    "bind-long": "services:\n  app:\n    image: nginx\n    volumes:\n      - {type: bind, source: /etc, target: /host-etc}\n",
    "bind-driver-opts": (
        "services:\n  app:\n    image: nginx\n    volumes: ['data:/data']\n"
        "volumes:\n  data:\n    driver_opts: {type: none, o: bind, device: /srv/data}\n"
    ),
}
# (id, source, field the refusal names)
PRIVILEGE_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    *[(name, {"type": "COMPOSE", "composeContent": content}, at("source", "composeContent"))
      for name, content in PRIVILEGED_COMPOSE.items()],
    ("image-host-bind", src(image="nginx", volumes=["data:/data", "/srv/data:/data2"]), at("source", "volumes", "1")),
    ("dockerfile-host-bind", src(type="DOCKERFILE", repository=REPO, volumes=["/srv/cache:/cache"]),
     at("source", "volumes", "0")),
]


@pytest.mark.parametrize("source,field", [(s, f) for _, s, f in PRIVILEGE_CASES],
                         ids=[i for i, _, _ in PRIVILEGE_CASES])
async def test_privilege_policy(api: Api, source: dict[str, Any], field: list[str]) -> None:
    ordinary = await api.create_server()
    privileged = await api.create_server(allowPrivileged=True)
    project = await api.create_project()
    plain = await api.create_service(ordinary, project)

    # Refused on an ordinary server: at create and at update, naming the field, storing nothing.
    before = await api.snapshot()
    values = {"projectId": project["id"], "environment": "production", "name": unique("svc"),
              "serverId": ordinary["id"], "source": source}
    created = await api.mutate("createService", values, "service { id }")
    updated = await api.mutate("updateService", {"serviceId": plain["id"], "source": source}, "service { id }")
    for payload in (created, updated):
        assert payload["service"] is None
        assert {e["code"] for e in payload["errors"]} == {"INVALID_INPUT"}
        assert field in [e["field"] for e in payload["errors"]]
        assert all("allowPrivileged" in e["message"] for e in payload["errors"])
    assert await api.snapshot() == before

    # Allowed on a server with allowPrivileged, and deployable there (checked again at queue time).
    allowed = await api.ok("createService", {**values, "serverId": privileged["id"]},
                           f"service {{ {SERVICE_FIELDS} }}")
    service = allowed["service"]
    assert service["server"]["id"] == privileged["id"]
    declared = service["declaredConfig"]["source"]
    assert {k: declared[k] for k in source if k != "type"} == {k: v for k, v in source.items() if k != "type"}
    deployment = await api.start(service, selection="status frozenInput")
    assert deployment["status"] == "QUEUED"
    frozen = deployment["frozenInput"]
    if "composeContent" in source:
        assert frozen["composeFiles"][0]["content"] == source["composeContent"]
    else:
        assert frozen["volumes"] == source["volumes"]


async def test_an_env_key_at_the_limit_is_stored_and_one_longer_is_refused(api: Api) -> None:
    from berth.domain.limits import MAX_ENV_KEY

    world = await make_world(api)
    stored = await world.service_input(env=[{"key": "K" * MAX_ENV_KEY, "value": "v"}])
    assert stored["errors"] == [] and stored["service"]["id"]
    before = await api.snapshot()
    refused = await world.service_input(env=[{"key": "K" * (MAX_ENV_KEY + 1), "value": "v"}])
    assert refused["service"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID_INPUT", at("env", "0", "key"))]
    assert await api.snapshot() == before


async def test_a_token_in_a_repository_url_is_not_echoed(api: Api) -> None:
    world = await make_world(api)
    payload = await world.service_input(src(type="DOCKERFILE", repository="https://ghp_5ecret@example.test/a.git"))
    assert payload["service"] is None and "ghp_5ecret" not in repr(payload)
    assert "gitAuth" in payload["errors"][0]["message"]
