"""Inventory end to end: servers, projects and services of every source type created through
the real server, and read back through `servers`, `projects`, `service(id:)` and `node(id:)`."""

from __future__ import annotations

from typing import Any

from berth.domain.secrets import decrypt
from berth.models import Server as ServerRow
from berth.models import Service as ServiceRow
from tests.support.names import unique

from .conftest import SERVER_FIELDS, SERVICE_FIELDS, Api, gid, pk

REPO = "https://git.example.test/team/app.git"
COMPOSE = (
    "services:\n"
    "  web:\n    image: nginx:alpine\n    ports: ['127.0.0.1::80']\n    volumes: [data:/usr/share/nginx/html]\n"
    "  debug:\n    image: busybox\n    profiles: [debug]\n"
    "volumes:\n  data: {}\n"
)
KNOWN_HOSTS = "[10.0.0.2]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyMaterialForTests\n"
SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA=\n-----END OPENSSH PRIVATE KEY-----\n"
PEM_CERT = "-----BEGIN CERTIFICATE-----\nMIIBfakecert\n-----END CERTIFICATE-----\n"
PEM_KEY = "-----BEGIN PRIVATE KEY-----\nMIIEfakekey\n-----END PRIVATE KEY-----\n"


async def test_servers_of_every_endpoint_kind(api: Api) -> None:
    unix = await api.create_server(dockerHost="unix:///nonexistent/docker.sock")
    assert unix["maxConcurrentDeployments"] == 1 and unix["maxQueuedDeployments"] == 20
    assert unix["allowPrivileged"] is False and unix["reachable"] is None
    ssh = await api.create_server(
        dockerHost="ssh://deploy@10.0.0.2:2222", sshPrivateKey=SSH_KEY, sshKnownHosts=KNOWN_HOSTS,
        maxConcurrentDeployments=3, maxQueuedDeployments=7, allowPrivileged=True,
    )
    assert (ssh["dockerHost"], ssh["maxConcurrentDeployments"], ssh["maxQueuedDeployments"],
            ssh["allowPrivileged"]) == ("ssh://deploy@10.0.0.2:2222", 3, 7, True)
    tls = await api.create_server(
        dockerHost="tcp://10.0.0.3:2376", tlsCaCert=PEM_CERT, tlsClientCert=PEM_CERT, tlsClientKey=PEM_KEY
    )
    # Key material is stored, encrypted, and no field of the API returns it.
    ssh_row = await ServerRow.get(id=pk(ssh["id"]))
    tls_row = await ServerRow.get(id=pk(tls["id"]))
    assert ssh_row.ssh_private_key_enc and decrypt(ssh_row.ssh_private_key_enc) == SSH_KEY
    assert ssh_row.ssh_known_hosts == KNOWN_HOSTS
    assert tls_row.tls_client_key_enc and decrypt(tls_row.tls_client_key_enc) == PEM_KEY

    listed = (await api.query(f"{{ servers {{ {SERVER_FIELDS} }} }}"))["servers"]
    by_id = {server["id"]: server for server in listed}
    assert {unix["id"], ssh["id"], tls["id"]} <= set(by_id)
    assert by_id[ssh["id"]] == ssh and by_id[tls["id"]] == tls
    assert "local" in {server["name"] for server in listed}  # registered at first start
    assert all("PRIVATE KEY" not in text for text in api.transcript)

    node = await api.query(f'{{ node(id: "{tls["id"]}") {{ __typename ... on Server {{ {SERVER_FIELDS} }} }} }}')
    assert node["node"] == {"__typename": "Server", **tls}


async def test_projects_with_environments(api: Api) -> None:
    default = await api.create_project()
    assert [env["name"] for env in default["environments"]] == ["production"]
    named = await api.create_project(environments=["staging", "production"])
    assert [env["name"] for env in named["environments"]] == ["staging", "production"]

    projects = (await api.query("{ projects { id name environments { id name project { id } } services { id } } }"))
    by_id = {project["id"]: project for project in projects["projects"]}
    assert by_id[named["id"]]["name"] == named["name"]
    assert by_id[named["id"]]["environments"] == [
        {**env, "project": {"id": named["id"]}} for env in named["environments"]
    ]
    assert by_id[named["id"]]["services"] == []

    staging = named["environments"][0]
    node = await api.query(
        f'{{ node(id: "{staging["id"]}") {{ __typename ... on Environment {{ name project {{ name }} }} }} }}'
    )
    assert node["node"] == {"__typename": "Environment", "name": "staging", "project": {"name": named["name"]}}
    node = await api.query(f'{{ node(id: "{named["id"]}") {{ __typename ... on Project {{ name }} }} }}')
    assert node["node"] == {"__typename": "Project", "name": named["name"]}


async def _check_service(api: Api, service: dict[str, Any], server: dict[str, Any], project: dict[str, Any],
                         environment: str, source_type: str) -> None:
    assert service["sourceType"] == source_type
    assert service["server"] == {"id": server["id"], "name": server["name"]}
    assert service["project"] == {"id": project["id"], "name": project["name"]}
    assert service["environment"]["name"] == environment
    assert service["environment"]["project"] == {"id": project["id"]}
    target = service["declaredConfig"]["target"]
    assert target["server"]["name"] == server["name"] and target["project"]["name"] == project["name"]
    assert target["environment"]["name"] == environment and target["service"]["name"] == service["name"]
    # Read back by id, and as a node: the same object.
    again = (await api.query(f'query S($id: ID!) {{ service(id: $id) {{ {SERVICE_FIELDS} }} }}',
                             {"id": service["id"]}))["service"]
    assert again == service
    node = (await api.query(f'query N($id: ID!) {{ node(id: $id) {{ ... on Service {{ {SERVICE_FIELDS} }} }} }}',
                            {"id": service["id"]}))["node"]
    assert node == service


async def test_services_of_every_source_type(api: Api) -> None:
    server = await api.create_server()
    project = await api.create_project(environments=["production", "staging"])

    image = await api.create_service(
        server, project,
        {"type": "IMAGE", "image": "registry.example.test:5000/team/app:v1", "ports": ["127.0.0.1:8080:80"],
         "volumes": ["data:/var/lib/app"], "command": ["app", "--serve"]},
        env=[{"key": "MODE", "value": "prod"}],
        healthCheck={"kind": "HTTP", "port": 80, "path": "/healthz", "expectedStatus": [200, 204]},
    )
    await _check_service(api, image, server, project, "production", "IMAGE")
    assert image["autoRollback"] is True
    assert image["healthCheck"] == {"kind": "HTTP", "port": 80, "path": "/healthz", "expectedStatus": [200, 204],
                                    "timeoutSeconds": 60, "intervalSeconds": 2}
    source = image["declaredConfig"]["source"]
    assert source["image"] == "registry.example.test:5000/team/app:v1"
    assert source["ports"] == ["127.0.0.1:8080:80"] and source["command"] == ["app", "--serve"]
    assert image["declaredConfig"]["env"] == [{"key": "MODE", "secret": False, "value": "prod"}]

    dockerfile = await api.create_service(
        server, project,
        {"type": "DOCKERFILE", "repository": REPO, "branch": "main", "dockerfile": "docker/Dockerfile",
         "buildContext": "."},
        environment="staging", autoRollback=False,
        healthCheck={"kind": "TCP", "port": 5432, "timeoutSeconds": 30, "intervalSeconds": 3},
    )
    await _check_service(api, dockerfile, server, project, "staging", "DOCKERFILE")
    assert dockerfile["autoRollback"] is False
    assert dockerfile["declaredConfig"]["source"]["repository"] == REPO
    assert dockerfile["healthCheck"]["timeoutSeconds"] == 30

    inline = await api.create_service(
        server, project, {"type": "COMPOSE", "composeContent": COMPOSE, "composeProfiles": ["debug"]},
        healthCheck={"kind": "DOCKER"},
    )
    await _check_service(api, inline, server, project, "production", "COMPOSE")
    assert inline["declaredConfig"]["source"]["composeContent"] == COMPOSE

    from_repo = await api.create_service(
        server, project,
        {"type": "COMPOSE", "repository": "git@git.example.test:team/stack.git", "branch": "release/1.2",
         "composeFiles": ["compose.yaml", "deploy/compose.prod.yaml"]},
        environment="preview",  # a service names its environment; the project grows a new one
    )
    await _check_service(api, from_repo, server, project, "preview", "COMPOSE")

    listed = await api.query(
        'query P { projects { id environments { name } services { id name sourceType } } }'
    )
    mine = next(p for p in listed["projects"] if p["id"] == project["id"])
    assert [env["name"] for env in mine["environments"]] == ["production", "staging", "preview"]
    assert [s["id"] for s in mine["services"]] == [image["id"], dockerfile["id"], inline["id"], from_repo["id"]]
    assert [s["sourceType"] for s in mine["services"]] == ["IMAGE", "DOCKERFILE", "COMPOSE", "COMPOSE"]
    rows = await ServiceRow.filter(project_id=pk(project["id"])).count()
    assert rows == 4


async def test_update_service_replaces_only_what_is_given(api: Api) -> None:
    service = await api.create_service(env=[{"key": "A", "value": "1"}])
    payload = await api.ok("updateService", {
        "serviceId": service["id"],
        "source": {"type": "IMAGE", "image": "registry.example.test/team/app:v2"},
        "autoRollback": False,
    }, f"service {{ {SERVICE_FIELDS} }}")
    updated = payload["service"]
    assert updated["declaredConfig"]["source"]["image"] == "registry.example.test/team/app:v2"
    assert updated["autoRollback"] is False
    assert updated["declaredConfig"]["env"] == [{"key": "A", "secret": False, "value": "1"}]


async def test_unknown_and_foreign_ids_read_as_null(api: Api) -> None:
    service = await api.create_service()
    data = await api.query(
        "query Q($a: ID!, $b: ID!, $c: ID!) { "
        "bogus: node(id: $a) { id } wrongType: service(id: $b) { id } missing: deployment(id: $c) { id } }",
        {"a": "not-an-id", "b": gid("Project", pk(service["project"]["id"])), "c": gid("Deployment", 10**9)},
    )
    assert data == {"bogus": None, "wrongType": None, "missing": None}


async def test_project_limited_credential_sees_its_project_only(api: Api) -> None:
    server = await api.create_server()
    mine = await api.create_service(server)
    other = await api.create_service(server)
    token = await api.token("operator", project_ids=[pk(mine["project"]["id"])])
    data = await api.query(
        "query Q($m: ID!, $o: ID!) { m: service(id: $m) { name } o: service(id: $o) { name } "
        "n: node(id: $o) { id } projects { id } }",
        {"m": mine["id"], "o": other["id"]}, token=token,
    )
    assert data["m"] == {"name": mine["name"]} and data["o"] is None and data["n"] is None
    assert data["projects"] == [{"id": mine["project"]["id"]}]
    # Mutations on another project's objects: NOT_FOUND, nothing done.
    refused = await api.mutate("startDeployment", {"serviceId": other["id"]}, "deployment { id }", token=token)
    assert refused["deployment"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_FOUND", ["input", "serviceId"])]
    # Servers and projects belong to no project: a limited credential cannot create them.
    project = await api.mutate("createProject", {"name": unique("proj")}, "project { id }", token=token)
    assert project["project"] is None and project["errors"]
