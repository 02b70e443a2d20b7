"""What the dashboard tests do besides clicking: the API by hand (to set up and to compare),
and signing a page in."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from typing import Any

import httpx

TIMEOUT = 60.0


def run_command(args: list[str], env: dict[str, str], timeout: float = TIMEOUT) -> str:
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, f"{' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@dataclass
class Api:
    url: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables}, headers=self.headers, timeout=30
        )
        body = response.json()
        assert not body.get("errors"), body
        data: dict[str, Any] = body["data"]
        return data

    def mutate(self, field: str, mutation: str, **variables: Any) -> dict[str, Any]:
        payload: dict[str, Any] = self.graphql(mutation, **variables)[field]
        assert payload["errors"] == [], payload
        return payload

    def local_server_id(self) -> str:
        servers = self.graphql("{ servers { id name } }")["servers"]
        return next(server["id"] for server in servers if server["name"] == "local")

    def create_image_service(self, name: str, image: str, **extra: Any) -> dict[str, Any]:
        """A project `name` with an IMAGE service `name` in production on the local server."""
        project = self.mutate(
            "createProject",
            "mutation($i: CreateProjectInput!) { createProject(input: $i) { project { id } errors { code message } } }",
            i={"name": name, "environments": ["production"]},
        )["project"]
        service_input = {
            "projectId": project["id"], "environment": "production", "name": name,
            "serverId": self.local_server_id(), "source": {"type": "IMAGE", "image": image, **extra.pop("source", {})},
            **extra,
        }  # fmt: skip
        service: dict[str, Any] = self.mutate(
            "createService",
            "mutation($i: CreateServiceInput!) { createService(input: $i) { service { id name } errors { code message } } }",
            i=service_input,
        )["service"]
        return service

    def start(self, service_id: str, **input: Any) -> dict[str, Any]:
        deployment: dict[str, Any] = self.mutate(
            "startDeployment",
            "mutation($i: StartDeploymentInput!) { startDeployment(input: $i) { deployment { id number } errors { code message } } }",
            i={"serviceId": service_id, **input},
        )["deployment"]
        return deployment

    def deployment(self, deployment_id: str) -> dict[str, Any]:
        query = """query($id: ID!) { deployment(id: $id) {
            id number status conclusion rollbackOf { id number } steps { kind status } } }"""
        deployment: dict[str, Any] = self.graphql(query, id=deployment_id)["deployment"]
        return deployment

    def artifact_bytes(self, deployment_id: str) -> bytes:
        response = httpx.get(f"{self.url}/api/v1/deployments/{deployment_id}/artifact", headers=self.headers, timeout=30)
        assert response.status_code == 200, response.text
        return response.content


# Chromium's report of a request it aborted because a network interface came or went (Docker
# adds one per container): a page load it hit is tried again, and only then.
NETWORK_CHANGED = "net::ERR_NETWORK_CHANGED"


def open_page(page: Any, url: str, ready: Any, attempts: int = 3) -> None:
    """Load `url` until the locator `ready` shows; a load is repeated only when the browser
    reported a network change meanwhile (a module the page needs may have been aborted)."""
    for attempt in range(attempts):
        reports: list[str] = []

        def on_console(message: Any, reports: list[str] = reports) -> None:
            if NETWORK_CHANGED in message.text:
                reports.append(message.text)

        page.on("console", on_console)
        try:
            page.goto(url)
            ready.wait_for(timeout=10_000)
            return
        except Exception:
            if not reports or attempt == attempts - 1:
                raise
        finally:
            page.remove_listener("console", on_console)


def sign_in(page: Any, url: str, token: str) -> None:
    """Open the dashboard and sign in with `token`; returns once the first page shows."""
    open_page(page, url + "/", page.get_by_label("API token"))
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()
