"""3. Event delivery: from a step change committed to a subscriber receiving it.

Subscribers are `deploymentEvents` subscriptions, one WebSocket each (one dashboard each),
all on the same QUEUED deployment (runner stopped). A writer commits step changes through
`lifecycle.apply_change` and stamps the moment it returned; each subscriber stamps the
moment its frame arrived; the difference is one sample. Changes are paced: the next one
is committed once every subscriber has the last one. Topologies:

* one process — the API process commits the change itself (`/_bench/step`, as the
  embedded runner does) and fans it out: on SQLite and on PostgreSQL;
* two API processes on PostgreSQL — subscribers split over two `--no-runner` API
  processes, the change committed by a third process (as `berth runner` does), so every
  wake-up travels through LISTEN/NOTIFY.

All processes run on this machine, so their clocks are the same clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from bench.config import Plan
from bench.database import BenchDatabase, fresh_database
from bench.enqueue import start_request
from bench.load import post_json
from bench.seed import Inventory, seed_deployments, seed_inventory
from bench.server import ServerProcess, bench_call, berth_server
from bench.stats import latency_summary, percentile
from bench.ws import GraphQLWebSocket
from berth.models.enums import STEP_ORDER
from berth.schema.ids import pk_of

SUBSCRIPTION = """
subscription Events($id: ID!, $after: Int) {
  deploymentEvents(deploymentId: $id, afterSeq: $after) { seq type at status step { kind status } }
}
"""
# Every step of a deployment through RUNNING and SUCCEEDED: 14 STEP_CHANGED events.
STEP_CHANGES = [(str(kind), status) for kind in STEP_ORDER for status in ("RUNNING", "SUCCEEDED")]
DELIVERY_TIMEOUT = 15.0
PACE = 0.02  # seconds between a change fully delivered and the next one
SETTLE = 0.5  # seconds between the subscriptions being live and the first change


class Collector:
    """Receipts of one deployment's events, by seq, from every subscriber."""

    def __init__(self) -> None:
        self.received: dict[int, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self._waiting: dict[int, tuple[int, asyncio.Future[None]]] = {}

    def on_next(self, payload: dict[str, Any], moment: float) -> None:
        if payload.get("errors"):
            self.errors.append(str(payload["errors"])[:300])
            return
        seq = int(payload["data"]["deploymentEvents"]["seq"])
        self.received[seq].append(moment)
        waiting = self._waiting.get(seq)
        if waiting is not None and len(self.received[seq]) >= waiting[0] and not waiting[1].done():
            waiting[1].set_result(None)

    def on_end(self, error: str | None) -> None:
        if error:
            self.errors.append(error[:300])

    async def wait(self, seq: int, count: int, within: float) -> bool:
        if len(self.received[seq]) >= count:
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[seq] = (count, future)
        try:
            await asyncio.wait_for(future, within)
            return True
        except TimeoutError:
            return False
        finally:
            self._waiting.pop(seq, None)


async def open_connections(apis: list[ServerProcess], token: str, count: int) -> list[GraphQLWebSocket]:
    connections: list[GraphQLWebSocket] = []
    for start in range(0, count, 50):
        batch = [GraphQLWebSocket(apis[i % len(apis)].url, token) for i in range(start, min(count, start + 50))]
        connections += await asyncio.gather(*(c.open() for c in batch))
    return connections


async def measure(plan: Plan, inv: Inventory, writer: ServerProcess, apis: list[ServerProcess],
                  subscribers: int, connections: list[GraphQLWebSocket],
                  next_service: list[int]) -> dict[str, Any]:
    target = plan.event_changes * (5 if subscribers == 1 else 1)
    latencies: list[float] = []
    spreads: list[float] = []
    per_change: list[tuple[float, int, int]] = []  # (last receipt ms, change number, seq)
    errors: list[str] = []
    missed = 0
    done = 0
    for api in apis:
        await bench_call(api, "/_bench/gc", {})
    async with httpx.AsyncClient(base_url=writer.url, timeout=30) as client:
        while done < target:
            service = inv.service(next_service[0])
            next_service[0] += 1
            answer = await post_json(apis[0].port, start_request(apis[0], inv.token, service.id))
            deployment = answer["data"]["startDeployment"]["deployment"]
            deployment_id = deployment["id"]
            pk = pk_of(deployment_id, "Deployment")
            collector = Collector()
            ops = [
                (conn, await conn.subscribe(SUBSCRIPTION, {"id": deployment_id, "after": 0},
                                            collector.on_next, collector.on_end))
                for conn in connections[:subscribers]
            ]
            try:
                # The CREATED event (seq 1) is replayed to each: then every subscription is live.
                if not await collector.wait(1, subscribers, 60):
                    raise RuntimeError(
                        f"only {len(collector.received[1])} of {subscribers} subscriptions answered; "
                        f"errors: {collector.errors[:3]}"
                    )
                # Let the server finish setting the subscriptions up (after its replay each
                # one checks its credential and starts waiting): steady state is measured.
                await asyncio.sleep(SETTLE)
                for kind, status in STEP_CHANGES[: target - done]:
                    response = await client.post("/_bench/step", json={"deployment": pk, "kind": kind,
                                                                       "status": status})
                    response.raise_for_status()
                    committed, seq = response.json()["committed"], int(response.json()["seq"])
                    delivered = await collector.wait(seq, subscribers, DELIVERY_TIMEOUT)
                    receipts = collector.received[seq]
                    latencies += [moment - committed for moment in receipts]
                    if receipts:
                        spreads.append(max(receipts) - min(receipts))
                        per_change.append((round((max(receipts) - committed) * 1000, 1), done, seq))
                    done += 1
                    if not delivered:
                        # Not a slow delivery but a lost one: measuring on would only wait.
                        missed = subscribers - len(receipts)
                        errors.append(f"event seq {seq} of deployment {pk} reached {len(receipts)} of "
                                      f"{subscribers} subscribers within {DELIVERY_TIMEOUT:g} s")
                        break
                    await asyncio.sleep(PACE)
            finally:
                errors += collector.errors
                for conn, op in ops:
                    await conn.stop(op)
            if missed:
                break
    return {
        "subscribers": subscribers,
        "changes": done,
        "latency": latency_summary(latencies),
        "fan_out_spread_p50_ms": round(percentile(spreads, 50) * 1000, 3) if spreads else None,
        # The changes whose last subscriber waited longest: (ms, change number, event seq).
        "slowest_changes": sorted(per_change, reverse=True)[:5],
        "missed": missed,
        "api_gc_pauses": [await bench_call(api, "/_bench/gc") for api in apis],
        "errors": errors[:3],
    }


@contextlib.asynccontextmanager
async def servers(specs: list[tuple[str, bool]], db: BenchDatabase, work: Path) -> AsyncIterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    try:
        for name, runner in specs:
            started.append(await berth_server(name, db.url, db.data_dir, work, runner=runner).start())
        yield started
    finally:
        for server in started:
            server.stop()


async def run_topology(plan: Plan, db: BenchDatabase, inv: Inventory, work: Path, topology: str) -> dict[str, Any]:
    two = topology == "two API processes"
    names = ([("events-api-1", False), ("events-api-2", False), ("events-writer", False)] if two
             else [(f"events-{db.dialect}", False)])
    async with servers(names, db, work) as started:
        apis = started[:2] if two else started
        writer = started[-1]
        connections = await open_connections(apis, inv.token, max(plan.event_subscribers))
        next_service = [0]
        cells = []
        try:
            for count in plan.event_subscribers:
                print(f"   events: {db.label}, {topology}, {count} subscriber(s)", file=sys.stderr)
                try:
                    cells.append(await measure(plan, inv, writer, apis, count, connections, next_service))
                except Exception as exc:  # one failing cell must not hide the others
                    cells.append({"subscribers": count, "error": f"{type(exc).__name__}: {exc}"})
        finally:
            await asyncio.gather(*(c.close() for c in connections))
        peak = {server.name: server.peak_rss_kib() for server in apis}
    return {"database": db.label, "topology": topology, "cells": cells, "api_peak_rss_kib": peak}


async def run(plan: Plan, work: Path) -> dict[str, Any]:
    results = []
    for dialect in plan.databases:
        async with fresh_database(dialect) as db:
            inv = await seed_inventory(db, services=60)
            await seed_deployments(db, inv, 1000)
            topologies = ["one process"] + (["two API processes"] if db.is_postgres else [])
            for topology in topologies:
                try:
                    results.append(await run_topology(plan, db, inv, work, topology))
                except Exception as exc:
                    results.append({"database": db.label, "topology": topology,
                                    "error": f"{type(exc).__name__}: {exc}"})
    return {"results": results}
