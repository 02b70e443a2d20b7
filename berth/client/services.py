"""Finding services, servers and projects by name or id, through the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from berth.client import queries
from berth.client.api import Api
from berth.client.errors import AuthProblem, InputProblem
from berth.client.graphql_errors import raise_for_user_errors


@dataclass(frozen=True)
class ServiceRef:
    id: str
    name: str
    project: str
    environment: str
    server_id: str | None
    server_name: str | None

    @property
    def label(self) -> str:
        return f"{self.project}/{self.environment}/{self.name}"

    @classmethod
    def of(cls, service: dict[str, Any], project: dict[str, Any] | None = None) -> ServiceRef:
        project = project or service.get("project") or {}
        server = service.get("server") or {}
        return cls(
            id=str(service["id"]),
            name=str(service["name"]),
            project=str(project.get("name") or "?"),
            environment=str((service.get("environment") or {}).get("name") or "?"),
            server_id=server.get("id"),
            server_name=server.get("name"),
        )


async def inventory(api: Api) -> list[dict[str, Any]]:
    data = await api.execute(queries.INVENTORY)
    return list(data.get("projects") or [])


def matching_services(
    projects: list[dict[str, Any]], name: str, project: str | None, environment: str | None
) -> list[ServiceRef]:
    found = []
    for proj in projects:
        if project is not None and project not in (proj["name"], proj["id"]):
            continue
        for service in proj.get("services") or []:
            ref = ServiceRef.of(service, proj)
            if service["name"] == name and environment in (None, ref.environment):
                found.append(ref)
    return found


async def resolve_service(
    api: Api, value: str, project: str | None = None, environment: str | None = None, flag: str = "--service"
) -> ServiceRef:
    """A service by name (narrowed by project and environment when several share it) or by id.

    Without service:read nothing can be looked up: the value is taken as an id as it is,
    and the mutation it is used in judges it (a narrow CI token may only start deployments).
    """
    try:
        projects = await inventory(api)
    except AuthProblem:
        return ServiceRef(
            id=value, name=value, project="?", environment="?", server_id=None, server_name=None
        )
    matches = matching_services(projects, value, project, environment)
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        where = ", ".join(ref.label for ref in matches)
        raise InputProblem(
            f"{flag}: {len(matches)} services are named {value} ({where}); "
            "add --project/--environment or give the service id"
        )
    data = await api.execute(queries.SERVICE, {"id": value})
    if isinstance(data.get("service"), dict):
        return ServiceRef.of(data["service"])
    raise InputProblem(f"{flag}: no service named or with id {value!r} that this credential may see")


async def resolve_server(api: Api, value: str) -> dict[str, Any]:
    data = await api.execute(queries.SERVERS)
    servers = list(data.get("servers") or [])
    for server in servers:
        if value in (server["name"], server["id"]):
            return dict(server)
    known = ", ".join(sorted(server["name"] for server in servers)) or "none"
    raise InputProblem(f"--server: no server named {value!r} (servers: {known})")


async def ensure_project(api: Api, projects: list[dict[str, Any]], name: str, environment: str) -> str:
    for project in projects:
        if name in (project["name"], project["id"]):
            return str(project["id"])
    data = await api.execute(queries.CREATE_PROJECT, {"input": {"name": name, "environments": [environment]}})
    payload = data["createProject"]
    raise_for_user_errors(
        payload["errors"], {"input.name": "--project", "input.environments": "--environment"}
    )
    return str(payload["project"]["id"])
