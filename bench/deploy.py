"""Driving real deployments through the API: services, starts, and waiting for the end."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import httpx

from bench.server import ServerProcess
from berth.schema.ids import pk_of

TERMINAL = ("COMPLETED", "FAILED")


class Api:
    """A GraphQL client for one server, with the owner token."""

    def __init__(self, server: ServerProcess, token: str) -> None:
        self.server = server
        self.client = httpx.AsyncClient(base_url=server.url, timeout=60,
                                        headers={"Authorization": f"Bearer {token}"})

    async def close(self) -> None:
        await self.client.aclose()

    async def call(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.client.post("/graphql", json={"query": query, "variables": variables or {}})
        response.raise_for_status()
        answer = response.json()
        if answer.get("errors"):
            raise RuntimeError(f"GraphQL errors: {answer['errors']}")
        data: dict[str, Any] = answer["data"]
        for value in data.values():
            if isinstance(value, dict) and value.get("errors"):
                raise RuntimeError(f"user errors: {value['errors']}")
        return data

    async def local_server_id(self) -> str:
        servers = (await self.call("{ servers { id name } }"))["servers"]
        return str(next(s["id"] for s in servers if s["name"] == "local"))

    async def create_service(self, project: str, name: str, source: dict[str, Any],
                             health_check: dict[str, Any] | None = None) -> str:
        server_id = await self.local_server_id()
        created = await self.call(
            "mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id } errors { message } } }",
            {"input": {"name": project}},
        )
        project_id = created["createProject"]["project"]["id"]
        service = await self.call(
            "mutation($input: CreateServiceInput!) { createService(input: $input) { service { id } errors { message field } } }",
            {"input": {"projectId": project_id, "environment": "production", "name": name, "serverId": server_id,
                       "source": source, "healthCheck": health_check, "autoRollback": False}},
        )  # fmt: skip
        return str(service["createService"]["service"]["id"])

    async def start(self, service_id: str) -> str:
        data = await self.call(
            "mutation($input: StartDeploymentInput!) { startDeployment(input: $input) { deployment { id } errors { message } } }",
            {"input": {"serviceId": service_id}},
        )
        return str(data["startDeployment"]["deployment"]["id"])

    async def deployment(self, deployment_id: str) -> dict[str, Any]:
        data = await self.call(
            "query($id: ID!) { deployment(id: $id) { id status conclusion createdAt startedAt concludedAt"
            " error { step code message } steps { kind status startedAt completedAt detail } } }",
            {"id": deployment_id},
        )
        return dict(data["deployment"])

    async def wait_concluded(self, deployment_id: str, within: float = 300, every: float = 0.1) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            found = await self.deployment(deployment_id)
            if found["status"] in TERMINAL:
                return found
            if time.monotonic() > deadline:
                raise RuntimeError(f"deployment {deployment_id} still {found['status']} after {within:g} s")
            await asyncio.sleep(every)


def unix_time(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def deployment_pk(deployment_id: str) -> int:
    pk = pk_of(deployment_id, "Deployment")
    if pk is None:
        raise ValueError(f"not a deployment id: {deployment_id}")
    return pk


def failure(found: dict[str, Any]) -> str:
    steps = ", ".join(f"{s['kind']} {s['status']}" + (f" ({s['detail']})" if s.get("detail") else "")
                      for s in found.get("steps") or [])
    return f"deployment {found['id']} {found['status']}/{found['conclusion']}: {found.get('error')}; steps: {steps}"
