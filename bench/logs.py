"""4. Logs: a container printing 100,000 lines, through the embedded runner.

An IMAGE deployment of the bench app whose command first prints `log_lines` lines of
~80 characters, then serves HTTP (so the deployment turns healthy once it has printed
them all). While it runs:

* persisted — the deployment's `last_log_seq` is read from the database every 50 ms;
  lines/s between the first line stored and the last;
* delivered — each subscriber (a WebSocket of its own) stamps every line it receives;
  lines/s between its first line and its last, the slowest subscriber's. Runs alternate
  without a subscriber, with a `deploymentLogs` one (a message per line), with a
  `deploymentLogBatches` one (up to 1,000 lines a message) and with ten of those: they run
  in the same process as the runner, and cost it CPU;
* memory — the server process's peak RSS (VmHWM) against its peak before the deployment.

Rates are also taken over 0.25 s windows (median and the slow-side p99).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from bench.config import Plan
from bench.database import BenchDatabase, fresh_database
from bench.deploy import TERMINAL, Api, deployment_pk, failure, unix_time
from bench.images import APP_PORT, app_image
from bench.runner_overhead import remove_containers
from bench.seed import seed_inventory
from bench.server import ServerProcess, berth_server
from bench.stats import rate_summary, window_rates
from bench.ws import GraphQLWebSocket

SUBSCRIPTIONS = {
    "deploymentLogs": """
subscription Logs($id: ID!) { deploymentLogs(deploymentId: $id, afterSeq: 0) { seq stream text } }
""",
    "deploymentLogBatches": """
subscription Logs($id: ID!) {
  deploymentLogBatches(deploymentId: $id, afterSeq: 0, maxLines: 1000) { lastSeq lines { seq stream text } }
}
""",
}
POLL = 0.05
DEADLINE = 600.0
WINDOW = 0.25


def printer_command(lines: int) -> list[str]:
    return ["/bin/sh", "-c",
            f"i=0; while [ $i -lt {lines} ]; do"
            " echo \"bench log line $i: lorem ipsum dolor sit amet, consectetur adipiscing elit\";"
            " i=$((i+1)); done;"
            f" trap 'exit 0' TERM INT; httpd -f -p {APP_PORT} -h /www & wait"]  # fmt: skip


class SeqReader:
    """Reads a deployment's `last_log_seq` straight from the database."""

    def __init__(self, db: BenchDatabase) -> None:
        self.db = db
        self._sqlite: sqlite3.Connection | None = None
        self._pg: Any = None

    async def open(self) -> SeqReader:
        if self.db.is_postgres:
            self._pg = await self.db.connect()
        else:
            self._sqlite = sqlite3.connect(self.db.url.removeprefix("sqlite://"), timeout=5)
        return self

    async def progress(self, deployment_id: int) -> tuple[int, bool]:
        """(last_log_seq, whether the deployment has concluded)."""
        sql = "SELECT last_log_seq, status FROM deployment WHERE id = {}"
        if self._pg is not None:
            row = await self._pg.fetchrow(sql.format("$1"), deployment_id)
        else:
            assert self._sqlite is not None
            row = self._sqlite.execute(sql.format("?"), (deployment_id,)).fetchone()
        return int(row[0]), row[1] in TERMINAL

    async def stdout_lines(self, deployment_id: int) -> int:
        sql = "SELECT COUNT(*) FROM log_line WHERE deployment_id = {} AND stream = 'STDOUT'"
        if self._pg is not None:
            return int(await self._pg.fetchval(sql.format("$1"), deployment_id))
        assert self._sqlite is not None
        return int(self._sqlite.execute(sql.format("?"), (deployment_id,)).fetchone()[0])

    async def close(self) -> None:
        if self._pg is not None:
            await self._pg.close()
        if self._sqlite is not None:
            self._sqlite.close()


async def one_run(plan: Plan, api: Api, server: ServerProcess, service_id: str, reader: SeqReader,
                  token: str, subscription: str | None, subscribers: int = 1) -> dict[str, Any]:
    subscribe = subscription is not None
    baseline_peak = server.peak_rss_kib() or 0
    baseline_rss = server.rss_kib() or 0
    # Per subscriber: the moment each line arrived.
    receipts: list[list[float]] = [[] for _ in range(subscribers if subscribe else 0)]
    ended = [asyncio.Event() for _ in receipts]
    end_error: list[str] = []

    def handlers(number: int) -> tuple[Any, Any]:
        received = receipts[number]

        def on_next(payload: dict[str, Any], moment: float) -> None:
            if payload.get("errors"):
                end_error.append(str(payload["errors"])[:300])
            elif subscription == "deploymentLogBatches":
                batch = (payload.get("data") or {}).get(subscription) or {}
                received.extend([moment] * len(batch.get("lines") or []))
            else:
                received.append(moment)

        def on_end(error: str | None) -> None:
            if error:
                end_error.append(error)
            ended[number].set()

        return on_next, on_end

    connections = [await GraphQLWebSocket(server.url, token).open() for _ in receipts]
    try:
        deployment_id = await api.start(service_id)
        pk = deployment_pk(deployment_id)
        if subscription is not None:
            for number, connection in enumerate(connections):
                await connection.subscribe(SUBSCRIPTIONS[subscription], {"id": deployment_id}, *handlers(number))
        persisted: list[tuple[float, int]] = []
        rss_peak_seen = 0
        deadline = time.monotonic() + DEADLINE
        while True:
            seq, concluded = await reader.progress(pk)
            persisted.append((time.time(), seq))
            rss_peak_seen = max(rss_peak_seen, server.rss_kib() or 0)
            if concluded and all(event.is_set() for event in ended):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"deployment {pk} (or its log subscription) not done within {DEADLINE:g} s")
            await asyncio.sleep(POLL)
        found = await api.wait_concluded(deployment_id, within=60)
    finally:
        for connection in connections:
            await connection.close()
    if end_error:
        raise RuntimeError(f"subscription ended with an error: {end_error[0]}")
    if found["conclusion"] != "SUCCEEDED":
        raise RuntimeError(failure(found))
    total = persisted[-1][1]
    stdout = await reader.stdout_lines(pk)
    first = next(t for t, seq in persisted if seq > 0)
    done = next(t for t, seq in persisted if seq >= total)
    # Windows of the persisted curve: interpolate the stored count at window edges.
    stored_rates = []
    edge = first
    while edge + WINDOW <= done:
        stored_rates.append((_count_at(persisted, edge + WINDOW) - _count_at(persisted, edge)) / WINDOW)
        edge += WINDOW
    delivered: dict[str, Any] = {"subscriber": subscribe, "subscription": subscription,
                                 "subscribers": len(receipts)}
    if subscribe:
        # The slowest subscriber is the figure: every one of them must keep up.
        rates = [(len(r) / (r[-1] - r[0]) if len(r) > 1 and r[-1] > r[0] else 0.0, r) for r in receipts]
        rate, received = min(rates, key=lambda pair: pair[0])
        delivered.update({
            "lines_delivered": min(len(r) for r in receipts),
            "delivered_lines_per_s": round(rate, 1) if rate > 0 else None,
            "delivered_windows": rate_summary(window_rates(received, received[0], received[-1], WINDOW))
            if rate > 0 else rate_summary([]),
        })  # fmt: skip
    return {
        **delivered,
        "lines_printed": plan.log_lines,
        "stdout_lines_stored": stdout,
        "lines_stored_total": total,
        "persisted_lines_per_s": round(total / (done - first), 1) if done > first else None,
        "persisted_windows": rate_summary(stored_rates),
        "deployment_seconds": round(unix_time(found["concludedAt"]) - unix_time(found["createdAt"]), 2),
        "rss_before_mib": round(baseline_rss / 1024, 1),
        "peak_rss_before_mib": round(baseline_peak / 1024, 1),
        "peak_rss_mib": round(max(server.peak_rss_kib() or 0, rss_peak_seen) / 1024, 1),
    }


def _count_at(samples: list[tuple[float, int]], moment: float) -> float:
    previous = samples[0]
    for sample in samples:
        if sample[0] >= moment:
            span = sample[0] - previous[0]
            if span <= 0:
                return float(sample[1])
            return previous[1] + (sample[1] - previous[1]) * (moment - previous[0]) / span
        previous = sample
    return float(samples[-1][1])


async def run(plan: Plan, work: Path) -> dict[str, Any]:
    image = app_image()
    results = []
    databases = plan.databases[:1] if plan.quick else plan.databases
    # Without a subscriber (what the runner alone sustains), then with one of each kind, then
    # ten batched subscribers (ten dashboards following one deployment).
    runs: list[tuple[str | None, int]] = [(None, 0), ("deploymentLogs", 1), ("deploymentLogBatches", 1),
                                          ("deploymentLogBatches", 10)] * (1 if plan.quick else 2)
    for dialect in databases:
        async with fresh_database(dialect) as db:
            inv = await seed_inventory(db, services=1, projects=1, servers=1)
            server = await berth_server(f"logs-{dialect}", db.url, db.data_dir, work, runner=True).start()
            api = Api(server, inv.token)
            reader = await SeqReader(db).open()
            name = f"bench-logs-{dialect}"
            try:
                service_id = await api.create_service(
                    f"bench-logs-{dialect}", name,
                    {"type": "IMAGE", "image": image.ref, "ports": [f"127.0.0.1::{APP_PORT}"],
                     "command": printer_command(plan.log_lines)},
                    {"kind": "HTTP", "port": APP_PORT, "path": "/", "intervalSeconds": 1, "timeoutSeconds": 300},
                )  # fmt: skip
                samples = []
                for number, (subscription, count) in enumerate(runs):
                    print(f"   logs: {db.label}, run {number + 1} of {len(runs)}"
                          f" ({f'{count} × {subscription}' if subscription else 'without a subscriber'})",
                          file=sys.stderr)
                    await remove_containers(f"berth-{name}-")
                    samples.append(await one_run(plan, api, server, service_id, reader, inv.token, subscription,
                                                 count))
                results.append({"database": db.label, "runs": samples})
            finally:
                await reader.close()
                await api.close()
                server.stop()
                with contextlib.suppress(Exception):
                    await remove_containers(f"berth-{name}-")
    return {"results": results}
