"""Traffic during deployments (issue 16): requests at a steady rate through consecutive
deployments of each source, with a route (through the server's Caddy proxy) and, in the
same run, without one (IMAGE and DOCKERFILE stop-first on a fixed host port, COMPOSE in
place with `up -d` on a fixed port).

For each (source, routed or not): failed requests (no HTTP answer, or not 200) and the
longest gap between two successful answers while the deployments ran. Then the proxy's
own cost: sequential GETs through the proxy against the same GETs straight to a
container's published port, p50/p99.

Everything runs against one `berth serve --runner` (SQLite) on the local daemon, on a server
row of its own whose proxy listens on a loopback port; every request goes to 127.0.0.1 and
each loop is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import http.client
import os
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.config import Plan
from bench.database import fresh_database
from bench.deploy import Api, failure
from bench.images import APP_PORT, app_image
from bench.runner_overhead import remove_compose_project, remove_containers, sh
from bench.seed import seed_inventory
from bench.server import berth_server, free_port
from bench.stats import latency_summary

DEADLINE = 180.0
HEALTH = {"kind": "HTTP", "port": APP_PORT, "path": "/", "intervalSeconds": 1, "timeoutSeconds": 60}
DRAIN_SECONDS = 1
SOURCES = ("IMAGE", "DOCKERFILE", "COMPOSE")


@dataclass
class Load:
    """GETs at `rate` per second in a thread, each on a new connection, until stopped or
    bounded (`max_seconds`, and so `rate * max_seconds` requests)."""

    port: int
    host: str | None
    rate: float
    max_seconds: float
    answers: list[tuple[float, bool]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _run(self) -> None:
        started = time.monotonic()
        next_at = started
        limit = int(self.rate * self.max_seconds)
        while not self._stop.is_set() and len(self.answers) < limit and time.monotonic() - started < self.max_seconds:
            self.answers.append((time.monotonic(), get_ok(self.port, self.host)))
            next_at += 1 / self.rate
            self._stop.wait(max(0.0, next_at - time.monotonic()))  # pacing: the rate, not a race

    def __enter__(self) -> Load:
        self._thread = threading.Thread(target=self._run, name="bench-traffic", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def summary(self, seconds: float) -> dict[str, Any]:
        ok_times = [at for at, ok in self.answers if ok]
        gaps = [b - a for a, b in zip(ok_times, ok_times[1:], strict=False)]
        return {
            "requests": len(self.answers),
            "failed": sum(1 for _, ok in self.answers if not ok),
            "longest_gap_ms": round(max(gaps, default=0.0) * 1000, 1),
            "rate": round(len(self.answers) / seconds, 1) if seconds else None,
        }


def get_ok(port: int, host: str | None, timeout: float = 2.0) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/", headers={"Host": host} if host else {})
        response = conn.getresponse()
        response.read()
        return response.status == 200
    except (OSError, http.client.HTTPException):
        # HTTPException too (a connection cut before the status line, as a stopping
        # container's port does): an uncaught one would end the loop's thread silently.
        return False
    finally:
        conn.close()


def timed_gets(port: int, host: str | None, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        if get_ok(port, host):
            samples.append(time.perf_counter() - started)
    return samples


def git_repository(work: Path) -> str:
    """A file:// repository with the bench app's Dockerfile (DOCKERFILE services)."""
    from tests.docker_fixtures import build_busybox_context

    context = build_busybox_context(work / "bench-dockerfile-app", "bench", extra_dockerfile_lines=["HEALTHCHECK NONE"])
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.test",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.test", "HOME": str(work)}
    for argv in (["git", "init", "--quiet", "--initial-branch=main"], ["git", "add", "--all"],
                 ["git", "commit", "--quiet", "-m", "bench app"]):
        subprocess.run(argv, cwd=context, env=env, check=True, capture_output=True)
    return f"file://{context}"


def compose_content(image: str, port: int | None) -> str:
    ports = f'    ports:\n      - "127.0.0.1:{port}:{APP_PORT}"\n' if port else ""
    return f"services:\n  web:\n    image: {image}\n{ports}"


@dataclass
class Case:
    source: str
    routed: bool
    service_id: str
    name: str
    port: int
    host: str | None


class TrafficBench:
    def __init__(self, api: Api, image: str, repository: str, proxy_port: int) -> None:
        self.api, self.image, self.repository, self.proxy_port = api, image, repository, proxy_port
        self.tag = secrets.token_hex(3)
        self.server_id = ""
        self.server_name = f"bench-traffic-{self.tag}"
        self.cases: list[Case] = []

    async def create_server(self) -> None:
        servers = (await self.api.call("{ servers { name dockerHost } }"))["servers"]
        endpoint = next(s["dockerHost"] for s in servers if s["name"] == "local")
        made = await self.api.call(
            "mutation ($i: CreateServerInput!) { createServer(input: $i) { server { id } errors { message } } }",
            {"i": {"name": self.server_name, "dockerHost": endpoint,
                   "proxyListen": f"127.0.0.1:{self.proxy_port}"}})
        self.server_id = made["createServer"]["server"]["id"]

    def _source(self, kind: str, port: int | None) -> dict[str, Any]:
        ports = [f"127.0.0.1:{port}:{APP_PORT}"] if port else None
        if kind == "IMAGE":
            return {"type": "IMAGE", "image": self.image, "ports": ports}
        if kind == "DOCKERFILE":
            return {"type": "DOCKERFILE", "repository": self.repository, "branch": "main", "ports": ports}
        return {"type": "COMPOSE", "composeContent": compose_content(self.image, port)}

    async def create_case(self, kind: str, routed: bool) -> Case:
        name = f"bt-{kind.lower()[:3]}-{'r' if routed else 'p'}-{self.tag}"
        port = self.proxy_port if routed else free_port()
        host = f"{name}.bench.test" if routed else None
        route = {"host": host, "containerPort": APP_PORT, "drainSeconds": DRAIN_SECONDS,
                 "composeService": "web" if kind == "COMPOSE" else None} if routed else None
        project = (await self.api.call(
            "mutation ($i: CreateProjectInput!) { createProject(input: $i) { project { id } errors { message } } }",
            {"i": {"name": name}}))["createProject"]["project"]["id"]
        created = await self.api.call(
            "mutation ($i: CreateServiceInput!) { createService(input: $i) { service { id } errors { message } } }",
            {"i": {"projectId": project, "environment": "production", "name": name, "serverId": self.server_id,
                   "source": self._source(kind, None if routed else port), "healthCheck": HEALTH,
                   "autoRollback": False, "route": route}})
        case = Case(kind, routed, created["createService"]["service"]["id"], name, port, host)
        self.cases.append(case)
        return case

    async def deploy(self, case: Case) -> None:
        found = await self.api.wait_concluded(await self.api.start(case.service_id), within=DEADLINE, every=0.2)
        if found["conclusion"] != "SUCCEEDED":
            raise RuntimeError(failure(found))

    async def measure(self, case: Case, deployments: int, rate: float) -> dict[str, Any]:
        await self.deploy(case)  # the first version, not measured: traffic needs something to hit
        started = time.monotonic()
        with Load(case.port, case.host, rate, max_seconds=deployments * DEADLINE) as load:
            for _ in range(deployments):
                await self.deploy(case)
        return {"source": case.source, "routed": case.routed, "deployments": deployments,
                **load.summary(time.monotonic() - started)}

    async def latency(self, routed: Case, direct: Case, count: int) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        through = await loop.run_in_executor(None, timed_gets, routed.port, routed.host, count)
        straight = await loop.run_in_executor(None, timed_gets, direct.port, None, count)
        return {"requests": count, "proxy": latency_summary(through), "direct": latency_summary(straight)}

    async def clean(self) -> None:
        for case in self.cases:
            await remove_containers(f"berth-{case.name}-")
            for suffix in ("", "-blue", "-green"):
                await remove_compose_project(f"berth-{case.name}-production-{case.name}{suffix}")


async def remove_proxy(name_prefix: str) -> None:
    """This run's proxy container, then its network (named after this run's installation,
    so no other Berth on the daemon uses it)."""
    names = [n for n in (await sh("docker", "ps", "-a", "--format", "{{.Names}}")).split()
             if n.startswith(name_prefix)]
    networks: set[str] = set()
    for name in names:
        attached = await sh("docker", "inspect", "--format",
                            "{{range $net, $_ := .NetworkSettings.Networks}}{{$net}} {{end}}", name, check=False)
        networks.update(n for n in attached.split() if n.startswith("berth-proxy"))
    await remove_containers(name_prefix)
    for network in sorted(networks):
        await sh("docker", "network", "rm", network, check=False)


async def run(plan: Plan, work: Path) -> dict[str, Any]:
    from tests.docker_fixtures import PROXY_IMAGE

    image = app_image()
    repository = git_repository(work)
    proxy_port = free_port()
    deployments = plan.traffic_deployments
    async with fresh_database("sqlite") as db:
        inv = await seed_inventory(db, services=1, projects=1, servers=1)
        server = await berth_server("traffic", db.url, db.data_dir, work, runner=True, extra_env={
            "BERTH_PROXY_IMAGE": PROXY_IMAGE, "BERTH_ALLOW_FILE_REPOS": "1"}).start()
        api = Api(server, inv.token)
        bench = TrafficBench(api, image.ref, repository, proxy_port)
        results = []
        latency: dict[str, Any] = {}
        try:
            await bench.create_server()
            for kind in SOURCES:
                for routed in (True, False):
                    case = await bench.create_case(kind, routed)
                    print(f"   traffic: {kind} {'routed' if routed else 'fixed port'}", file=sys.stderr)
                    results.append(await bench.measure(case, deployments, plan.traffic_rate))
            image_cases = [c for c in bench.cases if c.source == "IMAGE"]
            routed_case = next(c for c in image_cases if c.routed)
            direct_case = next(c for c in image_cases if not c.routed)
            latency = await bench.latency(routed_case, direct_case, plan.traffic_latency_requests)
        finally:
            await api.close()
            server.stop()
            await bench.clean()
            await remove_proxy(f"berth-proxy-{bench.server_name}")
    return {"rate": plan.traffic_rate, "deployments": deployments, "drain_seconds": DRAIN_SECONDS,
            "results": results, "latency": latency}
