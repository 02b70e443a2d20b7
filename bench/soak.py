"""Soak: mixed load on one Berth process for `soak_minutes`, minute by minute.

One `bench.serve --runner` process (API and embedded runner) on PostgreSQL (the
production database; SQLite is not run: the soak's point is the long run, and a second
one would double it) drives real deployments on three real daemons — the local dockerd,
the second daemon and the TLS one — while, at the same time:

* deployments: `soak_deployments_per_minute` (20), paced evenly (one every 3 s),
  round-robin over two IMAGE services per server (the bench app, HTTP health check);
* subscribers: `soak_subscribers` (100) WebSockets, each subscribing to
  `deploymentEvents(afterSeq: 0)` of every deployment as soon as it is started, counting
  what it receives by seq. At the end each concluded deployment's events are replayed
  once more through the API (a fresh `deploymentEvents(afterSeq: 0)`, which completes
  after CONCLUDED): a seq of that list some subscriber never got is lost, a seq one
  subscriber got twice is doubled;
* reads: the bench read query (bench/read.py) paced open loop at `soak_read_rate` (50)
  requests/s over 8 keep-alive connections (request n leaves at its slot).

Per minute: read p99; event delivery p99 — the event's `at` (stamped by the lifecycle just
before the transaction that commits it, in the same process, so on this machine's clock)
to the frame's arrival, for events stamped after that subscriber's first frame arrived
(replayed ones are not deliveries); the process's
RSS and open file descriptors at the minute's end; deployments started, and concluded,
failed in that minute. Flat: the last minute's RSS within 10 % and fds within +20 of the
reference minute (the second, or the first in a run shorter than three minutes, or the
start in a one-minute run).

Everything is bounded: the load window, a drain of at most DRAIN seconds for deployments
still running, REPLAY_TIMEOUT per replay. Traffic goes to 127.0.0.1 only; the containers
the services started are removed from the three daemons afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.config import Plan
from bench.database import fresh_database
from bench.deploy import Api, unix_time
from bench.events import open_connections
from bench.images import APP_PORT, app_image
from bench.load import LoadResult, closed_loop, graphql_request
from bench.read import PAGE, QUERY
from bench.seed import seed_deployments, seed_inventory
from bench.server import ServerProcess, berth_server
from bench.stats import latency_summary, percentile
from bench.ws import GraphQLWebSocket

SUBSCRIPTION = """
subscription Events($id: ID!, $after: Int) {
  deploymentEvents(deploymentId: $id, afterSeq: $after) { seq type at status conclusion }
}
"""
HEALTH = {"kind": "HTTP", "port": APP_PORT, "path": "/", "intervalSeconds": 1, "timeoutSeconds": 60}
SERVICES_PER_SERVER = 2
READ_CONNECTIONS = 8  # enough that one slow answer does not hold the pace back
SEEDED_DEPLOYMENTS = 1000  # history for the reads' page and totalCount
DRAIN = 180.0  # seconds the deployments still running at the end may take to conclude
REPLAY_TIMEOUT = 30.0
RSS_GROWTH_BOUND = 0.10  # flat: the last minute's RSS within 10 % of the reference minute's
FD_GROWTH_BOUND = 20  # … and its open fds within +20


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time the process has used (/proc/PID/stat, clock ticks)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


@dataclass
class Followed:
    """One deployment and what each subscriber received of it."""

    id: str
    started_at: float  # time.time() when startDeployment answered
    received: list[Counter[int]]  # per subscriber: seq -> times received
    first_frame: list[float | None]  # per subscriber: when its first frame arrived
    completed: list[bool]
    errors: list[str] = field(default_factory=list)
    concluded_at: float | None = None  # the CONCLUDED event's `at`
    status: str | None = None
    conclusion: str | None = None


class Soak:
    def __init__(self, api: Api, server: ServerProcess, connections: list[GraphQLWebSocket]) -> None:
        self.api, self.server, self.connections = api, server, connections
        self.tag = secrets.token_hex(3)
        self.server_ids: list[tuple[str, str]] = []  # (name, id)
        self.service_ids: list[str] = []
        self.followed: list[Followed] = []
        self.deliveries: list[tuple[float, float]] = []  # (receipt time, commit → receipt s)
        self.start_errors: list[str] = []
        self.samples: list[dict[str, Any]] = []

    # ------------------------------------------------------------ setup

    async def create_servers(self) -> None:
        from tests.services import DOCKER2_HOST, TLS_DIR, TLS_DOCKER_HOST, docker_available

        for host in (DOCKER2_HOST, TLS_DOCKER_HOST):
            if reason := docker_available(host):
                raise RuntimeError(reason)
        local = next(s for s in (await self.api.call("{ servers { id name } }"))["servers"]
                     if s["name"] == "local")
        self.server_ids.append(("local", local["id"]))
        tls = {"tlsCaCert": (TLS_DIR / "ca.pem").read_text(), "tlsClientCert": (TLS_DIR / "cert.pem").read_text(),
               "tlsClientKey": (TLS_DIR / "key.pem").read_text()}
        for name, spec in ((f"soak-docker2-{self.tag}", {"dockerHost": DOCKER2_HOST}),
                           (f"soak-tls-{self.tag}", {"dockerHost": TLS_DOCKER_HOST, **tls})):
            made = await self.api.call(
                "mutation ($i: CreateServerInput!) { createServer(input: $i) { server { id } errors { message } } }",
                {"i": {"name": name, **spec}})
            self.server_ids.append((name, made["createServer"]["server"]["id"]))

    async def create_services(self, image: str) -> None:
        project = (await self.api.call(
            "mutation ($i: CreateProjectInput!) { createProject(input: $i) { project { id } errors { message } } }",
            {"i": {"name": f"soak-{self.tag}"}}))["createProject"]["project"]["id"]
        for _copy in range(SERVICES_PER_SERVER):
            for _name, server_id in self.server_ids:  # interleaved: round-robin visits every server in turn
                created = await self.api.call(
                    "mutation ($i: CreateServiceInput!) { createService(input: $i) { service { id } errors { message } } }",
                    {"i": {"projectId": project, "environment": "production", "serverId": server_id,
                           "name": f"soak-{self.tag}-{len(self.service_ids)}",
                           "source": {"type": "IMAGE", "image": image, "ports": [f"127.0.0.1::{APP_PORT}"]},
                           "healthCheck": HEALTH, "autoRollback": False}})  # fmt: skip
                self.service_ids.append(created["createService"]["service"]["id"])

    # ------------------------------------------------------------ deployments and subscribers

    def _on_next(self, followed: Followed, index: int) -> Any:
        def on_next(payload: dict[str, Any], moment: float) -> None:
            if payload.get("errors"):
                followed.errors.append(str(payload["errors"])[:300])
                return
            event = (payload.get("data") or {}).get("deploymentEvents")
            if event is None:
                return
            seq = int(event["seq"])
            followed.received[index][seq] += 1
            first = followed.first_frame[index]
            if first is None:
                followed.first_frame[index] = moment
            committed = unix_time(event["at"])
            if first is not None and committed > first:
                self.deliveries.append((moment, moment - committed))
            if event["type"] == "CONCLUDED" and followed.concluded_at is None:
                followed.concluded_at = committed
                followed.status, followed.conclusion = event["status"], event.get("conclusion")
        return on_next

    def _on_end(self, followed: Followed, index: int) -> Any:
        def on_end(error: str | None) -> None:
            followed.completed[index] = True
            if error:
                followed.errors.append(error[:300])
        return on_end

    async def start_one(self, number: int) -> None:
        service = self.service_ids[number % len(self.service_ids)]
        try:
            deployment_id = await self.api.start(service)
        except Exception as exc:  # a refused start is a figure, not the end of the soak
            self.start_errors.append(f"{type(exc).__name__}: {exc}"[:300])
            return
        count = len(self.connections)
        followed = Followed(deployment_id, time.time(), [Counter() for _ in range(count)], [None] * count,
                            [False] * count)
        self.followed.append(followed)
        for index, conn in enumerate(self.connections):
            await conn.subscribe(SUBSCRIPTION, {"id": deployment_id, "after": 0},
                                 self._on_next(followed, index), self._on_end(followed, index))

    async def deploy(self, began: float, count: int, every: float) -> None:
        for number in range(count):
            delay = began + number * every - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await self.start_one(number)

    async def sample(self, began: float, minutes: int) -> None:
        """The process's RSS and fds at the start and at each minute's end."""
        for minute in range(minutes + 1):
            delay = began + minute * 60 - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self.samples.append({"minute": minute, "rss_kib": self.server.rss_kib(),
                                 "fds": open_fds(self.server.pid), "cpu_s": cpu_seconds(self.server.pid),
                                 # This driver shares the machine: if it is busy, receipts are late.
                                 "driver_cpu_s": round(time.process_time(), 2)})

    async def warm_up(self) -> None:
        """One unmeasured deployment on each server: images pulled, daemon clients connected."""
        for number in range(len(self.server_ids)):
            await self.start_one(number)
        await self.drain()
        warm, self.followed, self.deliveries = self.followed, [], []
        failed = [f.id for f in warm if f.conclusion != "SUCCEEDED"]
        if failed:
            found = await self.api.deployment(failed[0])
            raise RuntimeError(f"warm-up deployment {failed[0]} did not succeed: {found.get('error')}")

    async def load(self, plan: Plan, minutes: int, raw_read: bytes) -> tuple[float, float, LoadResult]:
        """The measured window: deployments, their subscribers and the reads at once.
        Returns when it began (time.time() and perf_counter) and the reads."""
        seconds = minutes * 60
        began, perf_began = time.time(), time.perf_counter()

        async def pace(n: int) -> None:
            # Open loop: request n leaves at its slot, not when the last answer came back
            # (with at most READ_CONNECTIONS in flight: a server that falls behind keeps fewer).
            delay = perf_began + n / plan.soak_read_rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)

        reads_task = asyncio.create_task(closed_loop(
            self.server.port, lambda n: raw_read, concurrency=READ_CONNECTIONS, duration=seconds,
            requests=int(plan.soak_read_rate * seconds), before_each=pace))
        sampler = asyncio.create_task(self.sample(began, minutes))
        try:
            await self.deploy(began, int(plan.soak_deployments_per_minute * minutes),
                              60 / plan.soak_deployments_per_minute)
            reads = await asyncio.wait_for(reads_task, 120)  # bounded: the last requests' answers
            await sampler
        finally:
            for task in (reads_task, sampler):
                task.cancel()
        return began, perf_began, reads

    async def drain(self) -> None:
        """Until every subscription has completed (the deployment concluded), or DRAIN s."""
        deadline = time.monotonic() + DRAIN
        while True:
            if all(all(f.completed) for f in self.followed) or time.monotonic() > deadline:
                return
            await asyncio.sleep(0.5)

    # ------------------------------------------------------------ the ledger

    async def replay(self, followed: Followed) -> list[int] | None:
        """The deployment's seqs as the API returns them now (None: it did not complete)."""
        seqs: list[int] = []
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_next(payload: dict[str, Any], moment: float) -> None:
            event = (payload.get("data") or {}).get("deploymentEvents")
            if event is not None:
                seqs.append(int(event["seq"]))

        def on_end(error: str | None) -> None:
            if not done.done():
                done.set_result(None)

        conn = self.connections[0]
        op = await conn.subscribe(SUBSCRIPTION, {"id": followed.id, "after": 0}, on_next, on_end)
        try:
            await asyncio.wait_for(done, REPLAY_TIMEOUT)
        except TimeoutError:
            return None
        finally:
            await conn.stop(op)
        return seqs

    async def ledger(self) -> dict[str, Any]:
        lost = doubled = compared = 0
        unfinished: list[str] = []
        lost_examples: list[str] = []
        for followed in self.followed:
            doubled += sum(1 for got in followed.received for n in got.values() if n > 1)
            if followed.concluded_at is None:
                unfinished.append(followed.id)
                continue
            reference = await self.replay(followed)
            if reference is None:
                unfinished.append(followed.id)
                continue
            compared += 1
            for index, got in enumerate(followed.received):
                missing = [seq for seq in reference if seq not in got]
                lost += len(missing)
                if missing and len(lost_examples) < 5:
                    lost_examples.append(f"{followed.id} subscriber {index}: seqs {missing[:10]}")
        events = sum(len(got) for f in self.followed for got in f.received)
        return {"deployments_compared": compared, "unfinished": len(unfinished), "events_received": events,
                "lost": lost, "doubled": doubled, "lost_examples": lost_examples,
                "subscription_errors": [e for f in self.followed for e in f.errors][:5]}

    # ------------------------------------------------------------ per minute

    def minutes(self, began: float, perf_began: float, minutes: int, reads: LoadResult) -> list[dict[str, Any]]:
        read_by_minute: list[list[float]] = [[] for _ in range(minutes)]
        for latency, done in zip(reads.latencies, reads.completions, strict=True):
            minute = int((done - perf_began) // 60)
            if 0 <= minute < minutes:
                read_by_minute[minute].append(latency)
        events_by_minute: list[list[float]] = [[] for _ in range(minutes)]
        for moment, latency in self.deliveries:
            minute = int((moment - began) // 60)
            if 0 <= minute < minutes:
                events_by_minute[minute].append(latency)
        series = []
        for minute in range(minutes):
            def inside(moment: float | None, minute: int = minute) -> bool:
                return moment is not None and began + minute * 60 <= moment < began + (minute + 1) * 60
            concluded = [f for f in self.followed if inside(f.concluded_at)]
            start = next((s for s in self.samples if s["minute"] == minute), {})
            end = next((s for s in self.samples if s["minute"] == minute + 1), {})
            series.append({
                "minute": minute + 1,
                "reads": len(read_by_minute[minute]),
                "read_p99_ms": _p99_ms(read_by_minute[minute]),
                "events": len(events_by_minute[minute]),
                "event_p99_ms": _p99_ms(events_by_minute[minute]),
                "rss_mib": _mib(end.get("rss_kib")),
                "fds": end.get("fds"),
                "server_cpu_pct": _busy(start.get("cpu_s"), end.get("cpu_s")),
                "driver_cpu_pct": _busy(start.get("driver_cpu_s"), end.get("driver_cpu_s")),
                "started": sum(1 for f in self.followed if inside(f.started_at)),
                "concluded": len(concluded),
                "failed": sum(1 for f in concluded if f.status == "FAILED" or f.conclusion == "FAILED"),
            })  # fmt: skip
        return series


def _p99_ms(seconds: list[float]) -> float | None:
    return round(percentile(seconds, 99) * 1000, 1) if seconds else None


def _busy(before: float | None, after: float | None) -> float | None:
    """Percent of one core used over a minute."""
    return round((after - before) / 60 * 100, 0) if before is not None and after is not None else None


def _mib(kib: int | None) -> float | None:
    return round(kib / 1024, 1) if kib is not None else None


def remove_service_containers(name_prefix: str) -> int:
    """The containers this run's services started, on all three daemons."""
    import docker.errors

    from tests.services import DOCKER2_HOST, DOCKER_HOST, TLS_DOCKER_HOST, make_docker_client

    removed = 0
    for host in (DOCKER_HOST, DOCKER2_HOST, TLS_DOCKER_HOST):
        try:
            client = make_docker_client(host)
        except docker.errors.DockerException:
            continue
        try:
            for container in client.containers.list(all=True):
                if container.name.startswith(name_prefix):
                    with contextlib.suppress(docker.errors.APIError):
                        container.remove(force=True)
                        removed += 1
        finally:
            client.close()
    return removed


def flatness(samples: list[dict[str, Any]], minutes: int) -> dict[str, Any]:
    by_minute = {s["minute"]: s for s in samples}
    reference_minute = 2 if minutes >= 3 else (1 if minutes >= 2 else 0)
    reference, last = by_minute.get(reference_minute), by_minute.get(minutes)
    if not reference or not last or None in (reference["rss_kib"], last["rss_kib"], reference["fds"], last["fds"]):
        return {"reference_minute": reference_minute, "flat": None}
    rss_growth = (last["rss_kib"] - reference["rss_kib"]) / reference["rss_kib"]
    fd_growth = last["fds"] - reference["fds"]
    return {
        "reference_minute": reference_minute,
        "last_minute": minutes,
        "rss_growth_pct": round(rss_growth * 100, 1),
        "fd_growth": fd_growth,
        "rss_bound_pct": RSS_GROWTH_BOUND * 100,
        "fd_bound": FD_GROWTH_BOUND,
        "flat": rss_growth <= RSS_GROWTH_BOUND and fd_growth <= FD_GROWTH_BOUND,
    }


async def run(plan: Plan, work: Path) -> dict[str, Any]:
    minutes = max(1, int(plan.soak_minutes))
    if plan.soak_subscribers < 1:
        raise ValueError("the soak needs at least one subscriber: conclusions are seen through them")
    dialect = "postgres" if "postgres" in plan.databases else plan.databases[0]
    image = app_image()
    async with fresh_database(dialect) as db:
        inv = await seed_inventory(db, services=6, projects=2, servers=1)
        await seed_deployments(db, inv, SEEDED_DEPLOYMENTS)
        server = await berth_server(f"soak-{dialect}", db.url, db.data_dir, work, runner=True).start()
        api = Api(server, inv.token)
        connections: list[GraphQLWebSocket] = []
        soak = Soak(api, server, connections)
        try:
            await soak.create_servers()
            await soak.create_services(image.ref)
            connections += await open_connections([server], inv.token, plan.soak_subscribers)
            await soak.warm_up()
            print(f"   soak: {minutes} min on {db.label}: {int(plan.soak_deployments_per_minute * minutes)} "
                  f"deployments over {len(soak.server_ids)} servers, {len(connections)} subscribers, "
                  f"reads at {plan.soak_read_rate:g}/s", file=sys.stderr)
            raw = graphql_request(server.port, QUERY, {"first": PAGE}, inv.token)
            began, perf_began, reads = await soak.load(plan, minutes, raw)
            await soak.drain()
            ledger = await soak.ledger()
            series = soak.minutes(began, perf_began, minutes, reads)
        finally:
            await asyncio.gather(*(c.close() for c in connections))
            await api.close()
            peak = server.peak_rss_kib() if server.process and server.process.poll() is None else None
            server.stop()
            removed = await asyncio.get_running_loop().run_in_executor(
                None, remove_service_containers, f"berth-soak-{soak.tag}-")
    concluded = [f for f in soak.followed if f.concluded_at is not None]
    return {
        "database": db.label,
        "minutes": minutes,
        "servers": [name for name, _ in soak.server_ids],
        "services": len(soak.service_ids),
        "subscribers": len(connections),
        "deployments_per_minute": plan.soak_deployments_per_minute,
        "read_rate": plan.soak_read_rate,
        "deployments": {
            "started": len(soak.followed),
            "start_errors": len(soak.start_errors),
            "first_start_error": soak.start_errors[0] if soak.start_errors else None,
            "concluded": len(concluded),
            "succeeded": sum(1 for f in concluded if f.conclusion == "SUCCEEDED"),
            "failed": sum(1 for f in concluded if f.status == "FAILED" or f.conclusion == "FAILED"),
            # SKIPPED: superseded while queued by a newer start of the same service.
            "by_conclusion": dict(Counter(str(f.conclusion) for f in concluded)),
        },
        "reads": {"latency": latency_summary(reads.latencies), "errors": reads.errors,
                  "first_error": reads.first_error, "achieved_per_s": round(reads.rate, 1)},
        "events": latency_summary([latency for _, latency in soak.deliveries]),
        "ledger": ledger,
        "per_minute": series,
        "samples": soak.samples,
        "flat": flatness(soak.samples, minutes),
        "peak_rss_mib": _mib(peak),
        "containers_removed": removed,
    }
