"""5. Runner overhead: a deployment through Berth against the same steps done by hand.

Pairs run alternately (Berth first, then by hand; the next pair the other way round), from
the same clean state each time: no container of the service, the image not on the host
(so both sides really pull it from the local registry).

* IMAGE — Berth: `startDeployment` of an IMAGE service (the bench app, port 8080
  published on loopback, HTTP health check on / every 1 s) until it is COMPLETED (its
  `concludedAt`). By hand: `docker pull`, `docker run -d -p 127.0.0.1::8080`, then GET /
  on the published port, at once and then every 1 s (the service's declared interval),
  until HTTP 200.
* COMPOSE — Berth: a COMPOSE service with inline content (the app with a compose
  `healthcheck` every 1 s). By hand: the compose command the runner uses (`up -d`) on the
  same file, then `docker inspect` the container every 0.5 s until it is `healthy`.

The engine is the embedded runner of one `berth serve` process (SQLite by default); one
unmeasured pair warms both sides up first. The ratio is Berth's median over by hand's.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from bench.config import Plan
from bench.database import fresh_database
from bench.deploy import Api, failure, unix_time
from bench.images import APP_PORT, app_image
from bench.seed import seed_inventory
from bench.server import berth_server
from bench.stats import latency_summary, percentile, ratio

HEALTH_INTERVAL = 1
COMPOSE_INSPECT_EVERY = 0.5
DEADLINE = 120.0


async def sh(*argv: str, check: bool = True) -> str:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    if check and process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {process.returncode}: {err.decode(errors='replace').strip()}")
    return out.decode(errors="replace").strip()


async def compose_command() -> list[str]:
    from berth.runner.compose_cli import detect_compose_command

    return await detect_compose_command()


async def remove_image(ref: str) -> None:
    image_id = await sh("docker", "image", "inspect", "--format", "{{.Id}}", ref, check=False)
    if image_id.startswith("sha256:"):
        await sh("docker", "rmi", "-f", image_id, check=False)


async def remove_containers(name_prefix: str) -> None:
    names = (await sh("docker", "ps", "-a", "--format", "{{.Names}}")).split()
    mine = [name for name in names if name.startswith(name_prefix)]
    if mine:
        await sh("docker", "rm", "-f", *mine, check=False)


async def remove_compose_project(project: str) -> None:
    ids = (await sh("docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={project}")).split()
    if ids:
        await sh("docker", "rm", "-f", *ids, check=False)
    networks = (await sh("docker", "network", "ls", "-q", "--filter",
                         f"label=com.docker.compose.project={project}")).split()
    if networks:
        await sh("docker", "network", "rm", *networks, check=False)


async def wait_http(url: str, interval: float) -> None:
    deadline = time.monotonic() + DEADLINE
    async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
        while True:
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} not healthy within {DEADLINE:g} s")
            await asyncio.sleep(interval)


async def wait_docker_healthy(project: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while True:
        ids = (await sh("docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={project}")).split()
        if ids:
            states = (await sh("docker", "inspect", "--format", "{{.State.Health.Status}}", *ids)).split()
            if states and all(state == "healthy" for state in states):
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"compose project {project} not healthy within {DEADLINE:g} s")
        await asyncio.sleep(COMPOSE_INSPECT_EVERY)


Side = Callable[[bool], Awaitable[None]]


def compose_file(image: str) -> str:
    from tests.docker_fixtures import compose_yaml

    return compose_yaml(image)


class Comparison:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.berth: list[float] = []
        self.hand: list[float] = []
        self.breakdown: list[dict[str, float]] = []

    def summary(self) -> dict[str, Any]:
        berth, hand = latency_summary(self.berth), latency_summary(self.hand)
        steps: dict[str, float] = {}
        for key in sorted({k for sample in self.breakdown for k in sample}):
            values = [sample[key] for sample in self.breakdown if key in sample]
            steps[key] = round(percentile(values, 50) * 1000, 1)
        return {
            "kind": self.kind,
            "berth": berth,
            "by_hand": hand,
            "ratio_p50": ratio(berth["p50_ms"], hand["p50_ms"]),
            "ratio_p99": ratio(berth["p99_ms"], hand["p99_ms"]),
            "berth_step_p50_ms": steps,
        }


def breakdown(found: dict[str, Any], requested: float) -> dict[str, float]:
    """Where Berth's time went: queue (request → claimed), each step, and the rest."""
    parts = {"request_to_start": unix_time(found["startedAt"]) - requested}
    for step in found["steps"]:
        if step.get("startedAt") and step.get("completedAt"):
            parts[step["kind"].lower()] = unix_time(step["completedAt"]) - unix_time(step["startedAt"])
    return parts


class RunnerBench:
    """Both sides of both comparisons against one `berth serve` (embedded runner)."""

    def __init__(self, api: Api, image: str, compose: list[str], work: Path) -> None:
        self.api = api
        self.image = image
        self.compose = compose
        tag = secrets.token_hex(3)
        self.image_service = f"bench-img-{tag}"
        self.compose_service = f"bench-cmp-{tag}"
        # What the runner names the compose project: berth-<project>-<environment>-<service>.
        self.berth_project = f"berth-{self.compose_service}-production-{self.compose_service}"
        self.hand_name = f"bench-hand-{tag}"
        self.hand_project = f"{self.hand_name}-compose"
        self.compose_dir = Path(tempfile.mkdtemp(prefix="bench-compose-", dir=work))
        (self.compose_dir / "compose.yaml").write_text(compose_file(image))
        self.image_id = ""
        self.compose_id = ""
        self.runs = 0
        self.image_cmp = Comparison("IMAGE")
        self.compose_cmp = Comparison("COMPOSE")

    async def create_services(self) -> None:
        self.image_id = await self.api.create_service(
            self.image_service, self.image_service,
            {"type": "IMAGE", "image": self.image, "ports": [f"127.0.0.1::{APP_PORT}"]},
            {"kind": "HTTP", "port": APP_PORT, "path": "/", "intervalSeconds": HEALTH_INTERVAL,
             "timeoutSeconds": 60},
        )  # fmt: skip
        self.compose_id = await self.api.create_service(
            self.compose_service, self.compose_service,
            {"type": "COMPOSE", "composeContent": compose_file(self.image)},
        )

    async def _berth(self, service_id: str, comparison: Comparison, record: bool) -> None:
        requested = time.time()
        deployment_id = await self.api.start(service_id)
        found = await self.api.wait_concluded(deployment_id, within=DEADLINE, every=0.05)
        if found["conclusion"] != "SUCCEEDED":
            raise RuntimeError(failure(found))
        if record:
            comparison.berth.append(unix_time(found["concludedAt"]) - requested)
            comparison.breakdown.append(breakdown(found, requested))

    async def berth_image(self, record: bool) -> None:
        await remove_containers(f"berth-{self.image_service}-")
        await remove_image(self.image)
        await self._berth(self.image_id, self.image_cmp, record)

    async def hand_image(self, record: bool) -> None:
        self.runs += 1
        name = f"{self.hand_name}-{self.runs}"
        await remove_containers(self.hand_name)
        await remove_image(self.image)
        started = time.time()
        await sh("docker", "pull", self.image)
        await sh("docker", "run", "-d", "--name", name, "-p", f"127.0.0.1::{APP_PORT}", self.image)
        address = (await sh("docker", "port", name, f"{APP_PORT}/tcp")).splitlines()[0]
        await wait_http(f"http://{address}/", HEALTH_INTERVAL)
        if record:
            self.image_cmp.hand.append(time.time() - started)

    async def berth_compose(self, record: bool) -> None:
        await remove_compose_project(self.berth_project)
        await remove_image(self.image)
        await self._berth(self.compose_id, self.compose_cmp, record)

    async def hand_compose(self, record: bool) -> None:
        await remove_compose_project(self.hand_project)
        await remove_image(self.image)
        started = time.time()
        await sh(*self.compose, "--ansi", "never", "-p", self.hand_project, "-f",
                 str(self.compose_dir / "compose.yaml"), "up", "-d")
        await wait_docker_healthy(self.hand_project)
        if record:
            self.compose_cmp.hand.append(time.time() - started)

    async def pairs(self, count: int, berth_side: Side, hand_side: Side) -> None:
        await berth_side(False)  # warm-up, not recorded
        await hand_side(False)
        for number in range(count):
            for side in (berth_side, hand_side) if number % 2 == 0 else (hand_side, berth_side):
                await side(True)

    async def clean(self) -> None:
        await remove_containers(f"berth-{self.image_service}-")
        await remove_containers(self.hand_name)
        await remove_compose_project(self.berth_project)
        await remove_compose_project(self.hand_project)


async def run(plan: Plan, work: Path) -> dict[str, Any]:
    image = app_image()
    compose = await compose_command()
    results = []
    databases = plan.databases[:1] if plan.quick else plan.databases
    for dialect in databases:
        async with fresh_database(dialect) as db:
            inv = await seed_inventory(db, services=1, projects=1, servers=1)
            server = await berth_server(f"runner-{dialect}", db.url, db.data_dir, work, runner=True).start()
            api = Api(server, inv.token)
            bench = RunnerBench(api, image.ref, compose, work)
            try:
                await bench.create_services()
                print(f"   runner: IMAGE, {db.label}", file=sys.stderr)
                await bench.pairs(plan.runner_pairs, bench.berth_image, bench.hand_image)
                print(f"   runner: COMPOSE, {db.label}", file=sys.stderr)
                await bench.pairs(plan.runner_pairs, bench.berth_compose, bench.hand_compose)
                results.append({"database": db.label,
                                "comparisons": [bench.image_cmp.summary(), bench.compose_cmp.summary()]})
            finally:
                await api.close()
                server.stop()
                await bench.clean()
    return {"compose_command": " ".join(compose), "pairs": plan.runner_pairs, "results": results}
