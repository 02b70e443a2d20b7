#!/usr/bin/env python3
"""Screenshots of the dashboard's pages from a seeded, running server (for the README).

    .venv/bin/python scripts/screenshots.py [--out docs/images] [--image REF]

Starts `berth serve` on a fresh SQLite database in a temporary directory, makes an owner token,
seeds one IMAGE service from `--image` (default: the test registry's app, which
`scripts/test-services` and the tests' fixtures provide), deploys it twice and rolls back,
then photographs each page with Debian's chromium through Playwright (the test extras):
1280 px wide in the light scheme, and the deployment page at 390 px in the dark one.
Needs Docker (the embedded runner deploys for real).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_IMAGE = "127.0.0.1:5000/berth-test/app:v1"
SHOTS = {  # file name → (route, heading to wait for)
    "deployments.png": ("#/deployments", "Deployments"),
    "deployment.png": ("#/deployments/{deployment}", "Logs"),
    "services.png": ("#/services", "Services"),
    "service.png": ("#/services/{service}", "Deploy"),
    "servers.png": ("#/servers", "Servers"),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Api:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token

    def call(self, query: str, **variables: Any) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables},
            headers={"authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        body = response.json()
        if body.get("errors"):
            raise SystemExit(f"the API refused: {body['errors']}")
        data: dict[str, Any] = body["data"]
        return data

    def wait_concluded(self, deployment_id: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.call("query($id: ID!) { deployment(id: $id) { conclusion error { message } } }", id=deployment_id)
            conclusion = found["deployment"]["conclusion"]
            if conclusion == "SUCCEEDED":
                return
            if conclusion:
                raise SystemExit(f"deployment {deployment_id} {conclusion}: {found['deployment']['error']}")
            time.sleep(0.5)
        raise SystemExit(f"deployment {deployment_id} did not conclude within {timeout}s")


def seed(api: Api, image: str) -> tuple[str, str]:
    """A project `shop` with an IMAGE service `web`: v1, v2, then a rollback to v1."""
    server = next(s["id"] for s in api.call("{ servers { id name } }")["servers"] if s["name"] == "local")
    project = api.call(
        'mutation { createProject(input: {name: "shop", environments: ["production", "staging"]}) { project { id } } }'
    )["createProject"]["project"]["id"]
    service_input = {
        "projectId": project, "environment": "production", "name": "web", "serverId": server,
        "source": {"type": "IMAGE", "image": image, "ports": ["127.0.0.1::8080"]},
        "healthCheck": {"kind": "HTTP", "port": 8080, "path": "/"},
    }  # fmt: skip
    service = api.call(
        "mutation($i: CreateServiceInput!) { createService(input: $i) { service { id } errors { message } } }",
        i=service_input,
    )["createService"]["service"]["id"]
    start = "mutation($i: StartDeploymentInput!) { startDeployment(input: $i) { deployment { id } } }"
    first = api.call(start, i={"serviceId": service, "reason": "first release"})["startDeployment"]["deployment"]["id"]
    api.wait_concluded(first)
    second = api.call(start, i={"serviceId": service, "imageTag": "v2"})["startDeployment"]["deployment"]["id"]
    api.wait_concluded(second)
    rollback = "mutation($i: RollbackDeploymentInput!) { rollbackDeployment(input: $i) { deployment { id } errors { message } } }"
    back = api.call(rollback, i={"serviceId": service, "reason": "v2 looks wrong"})["rollbackDeployment"]
    if back["deployment"] is None:
        raise SystemExit(f"the rollback was refused: {back['errors']}")
    api.wait_concluded(back["deployment"]["id"])
    observed = "query($id: ID!) { service(id: $id) { lastObservedState { comparedWith { id } } } }"
    deadline = time.monotonic() + 30  # the observer's first look at the rolled-back service
    while time.monotonic() < deadline:
        state = api.call(observed, id=service)["service"]["lastObservedState"]
        if state and state["comparedWith"] and state["comparedWith"]["id"] == back["deployment"]["id"]:
            break
        time.sleep(0.5)
    return service, back["deployment"]["id"]


def photograph(url: str, token: str, out: Path, ids: dict[str, str]) -> None:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("BERTH_TEST_CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium is not installed (Debian package `chromium`)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"], headless=True)
        for scheme, width, names in (("light", 1280, list(SHOTS)), ("dark", 390, ["deployment.png"])):
            context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
            page = context.new_page()
            page.goto(url + "/")
            page.get_by_label("API token").fill(token)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("button", name="Sign out").wait_for()
            for name in names:
                route, heading = SHOTS[name]
                page.goto(f"{url}/{route.format(**ids)}")
                page.get_by_role("heading", name=heading, exact=True).wait_for()
                page.wait_for_load_state("networkidle")
                target = out / (name if scheme == "light" else name.replace(".png", f"-{width}-{scheme}.png"))
                page.screenshot(path=str(target), full_page=scheme == "light")
                print(f"wrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
            context.close()
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--image", default=DEFAULT_IMAGE, help="an image with tags v1 and v2 serving HTTP on 8080")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="berth-screenshots-") as workdir:
        port = free_port()
        env = {**os.environ, "BERTH_DATA_DIR": workdir, "BERTH_STABLE_SECONDS": "1",
               "BERTH_OBSERVER_INTERVAL_SECONDS": "1"}  # fmt: skip
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        berth = [sys.executable, "-m", "berth"]
        with open(Path(workdir) / "server.log", "wb") as log:
            server = subprocess.Popen([*berth, "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
        url = f"http://127.0.0.1:{port}"
        api: Api | None = None
        service = ""
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit((Path(workdir) / "server.log").read_text())
                time.sleep(0.2)
            token = subprocess.run(
                [*berth, "token", "create", "--name", "screenshots", "--role", "owner"],
                env=env, capture_output=True, text=True, check=True,
            ).stdout.strip()  # fmt: skip
            api = Api(url, token)
            service, deployment = seed(api, args.image)
            photograph(url, token, args.out, {"service": service, "deployment": deployment})
        finally:
            if api is not None and service:
                remove_containers(api, service)
            server.terminate()
            server.wait(timeout=15)


def remove_containers(api: Api, service: str) -> None:
    """Remove the containers the seeded service runs (by the names Berth observed: others on
    the same Docker daemon stay)."""
    query = "query($id: ID!) { service(id: $id) { lastObservedState { containers { name } } } }"
    observed = api.call(query, id=service)["service"]["lastObservedState"]
    names = [container["name"] for container in (observed or {}).get("containers", [])]
    if names:
        subprocess.run(["docker", "rm", "-f", *names], capture_output=True, check=False)


if __name__ == "__main__":
    main()
