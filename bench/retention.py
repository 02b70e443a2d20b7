"""10. Retention: pruning 1,000,000 log lines while reads run.

Seeds `prune_log_lines` log lines (straight into the table, as `bench.seed` does with
deployments) over `prune_deployments` concluded deployments, all past the 30-day cutoff,
beside `RECENT` deployments concluded just now (their lines stay), starts a Berth server
(runner stopped, its own retention off), and measures serial read latency — alternately
`deployments(first: 50)` and the `logs(first: 100)` of a recent deployment, so the reads
ask for the same data before and during — for a while before pruning, then while `berth prune --no-images` (a separate process on the
same database, batches of 1,000 lines, one transaction each) removes every line. Reported:
read p50/p99 before and during, and the pruning rate (lines/s, the command's wall time).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.config import ROOT, Plan
from bench.database import BenchDatabase, fresh_database
from bench.load import closed_loop, graphql_request
from bench.read import QUERY as DEPLOYMENTS_QUERY
from bench.seed import EPOCH, SPACING, seed_deployments, seed_inventory
from bench.server import berth_server
from bench.stats import latency_summary
from berth.ids import to_global_id

LOGS_QUERY = "query Logs($id: ID!) { deployment(id: $id) { id logsPrunedAt logs(first: 100) { edges { node { seq text } } } } }"
LINE_COLUMNS = ("id", "deployment_id", "seq", "timestamp", "stream", "step", "text")
TEXT = "bench log line: lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor"
CHUNK = 50_000
# Deployments concluded now, with as many lines as the others: what the reads ask for.
RECENT = 50


def _line_rows(first_pk: int, deployments: int, per: int, start_id: int) -> Any:
    line_id = start_id
    for offset in range(deployments):
        pk = first_pk + offset
        moment = EPOCH + offset * SPACING + timedelta(seconds=2)
        for seq in range(1, per + 1):
            yield (line_id, pk, seq, moment, "STDOUT", "START", f"{TEXT} {seq}")
            line_id += 1


async def seed_lines(db: BenchDatabase, deployments: int, per: int) -> None:
    """`per` lines for each of the first `deployments` deployments, and their last_log_seq."""
    if db.is_postgres:
        conn = await db.connect()
        try:
            first = int(await conn.fetchval('SELECT MIN(id) FROM "deployment"'))
            rows = list(_line_rows(first, deployments, per, 1))
            async with conn.transaction():
                for start in range(0, len(rows), CHUNK):
                    await conn.copy_records_to_table("log_line", records=rows[start:start + CHUNK],
                                                     columns=list(LINE_COLUMNS))
                await conn.execute("SELECT setval(pg_get_serial_sequence('log_line', 'id'), "
                                   "(SELECT MAX(id) FROM log_line))")
                await conn.execute('UPDATE "deployment" SET last_log_seq = $1 WHERE id < $2', per,
                                   first + deployments)
            await conn.execute("VACUUM ANALYZE")
        finally:
            await conn.close()
        return
    path = db.url.removeprefix("sqlite://")
    conn2 = sqlite3.connect(path, timeout=60)
    try:
        first = int(conn2.execute('SELECT MIN(id) FROM "deployment"').fetchone()[0])
        names = ", ".join(f'"{c}"' for c in LINE_COLUMNS)
        with conn2:
            conn2.executemany(f'INSERT INTO "log_line" ({names}) VALUES (?, ?, ?, ?, ?, ?, ?)',
                              ((r[0], r[1], r[2], r[3].isoformat(sep=" "), r[4], r[5], r[6])
                               for r in _line_rows(first, deployments, per, 1)))
            conn2.execute('UPDATE "deployment" SET last_log_seq = ? WHERE id < ?', (per, first + deployments))
    finally:
        conn2.close()


async def conclude_now(db: BenchDatabase, from_id: int) -> None:
    """The deployments from `from_id` on concluded just now: not due for retention."""
    moment = datetime.now(UTC)
    if db.is_postgres:
        conn = await db.connect()
        try:
            await conn.execute('UPDATE "deployment" SET concluded_at = $1 WHERE id >= $2', moment, from_id)
        finally:
            await conn.close()
        return
    with sqlite3.connect(db.url.removeprefix("sqlite://")) as conn:
        conn.execute('UPDATE "deployment" SET concluded_at = ? WHERE id >= ?', (moment.isoformat(sep=" "), from_id))


async def first_deployment(db: BenchDatabase) -> int:
    if db.is_postgres:
        conn = await db.connect()
        try:
            return int(await conn.fetchval('SELECT MIN(id) FROM "deployment"'))
        finally:
            await conn.close()
    with sqlite3.connect(db.url.removeprefix("sqlite://")) as conn:
        return int(conn.execute('SELECT MIN(id) FROM "deployment"').fetchone()[0])


async def measure(plan: Plan, db: BenchDatabase, work: Path) -> dict[str, Any]:
    lines, deployments = plan.prune_log_lines, plan.prune_deployments
    per = lines // deployments
    inv = await seed_inventory(db, services=8, projects=2, servers=1)
    await seed_deployments(db, inv, deployments + RECENT)
    began = time.monotonic()
    await seed_lines(db, deployments + RECENT, per)
    seeded_seconds = time.monotonic() - began
    print(f"   retention: {db.label}, seeded {per * (deployments + RECENT):,} log lines in {seeded_seconds:.1f} s",
          file=sys.stderr)
    first = await first_deployment(db)
    await conclude_now(db, first + deployments)
    env = {"BERTH_RETENTION_LOG_DAYS": "0", "BERTH_RETENTION_IMAGES": "0"}  # the server prunes nothing itself
    server = berth_server(f"retention-{db.dialect}", db.url, db.data_dir, work, extra_env=env)
    await server.start()
    try:
        requests = [graphql_request(server.port, DEPLOYMENTS_QUERY, {"first": 50}, inv.token)]
        requests += [graphql_request(server.port, LOGS_QUERY, {"id": to_global_id("Deployment", first + n)},
                                     inv.token) for n in range(deployments, deployments + RECENT)]

        def make(n: int) -> bytes:
            return requests[0] if n % 2 == 0 else requests[1 + (n // 2) % (len(requests) - 1)]

        await closed_loop(server.port, make, concurrency=1, duration=1.0)  # warm-up
        before = await closed_loop(server.port, make, concurrency=1, duration=plan.prune_read_seconds)
        command = [sys.executable, "-m", "berth", "prune", "--no-images"]
        prune_env = {**os.environ, **server.env, "BERTH_RETENTION_BATCH": "1000"}
        prune_env.pop("BERTH_RETENTION_LOG_DAYS", None)
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            *command, env=prune_env, cwd=str(ROOT), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        during_latencies: list[float] = []
        errors = 0
        while process.returncode is None:
            chunk = await closed_loop(server.port, make, concurrency=1, duration=0.5)
            during_latencies += chunk.latencies
            errors += chunk.errors
            try:
                await asyncio.wait_for(process.wait(), 0.01)
            except TimeoutError:
                pass
        out, err = await process.communicate()
        prune_seconds = time.monotonic() - started
        if process.returncode != 0:
            raise RuntimeError(f"berth prune exited {process.returncode}: {err.decode()[-500:]}")
        summary = out.decode()
        if f"log lines: removed {per * deployments:,}" not in summary:
            raise RuntimeError(f"berth prune did not remove every line: {summary}")
        return {
            "database": db.label,
            "log_lines": per * deployments,
            "deployments": deployments,
            "lines_kept": per * RECENT,
            "batch": 1000,
            "prune_seconds": round(prune_seconds, 2),
            "lines_per_s": round(per * deployments / prune_seconds, 1),
            "read_before": latency_summary(before.latencies),
            "read_during": latency_summary(during_latencies),
            "read_errors": before.errors + errors,
            "seed_seconds": round(seeded_seconds, 1),
        }
    finally:
        server.stop()


async def run(plan: Plan, work: Path) -> dict[str, Any]:
    results = []
    for dialect in plan.databases:
        async with fresh_database(dialect) as db:
            results.append(await measure(plan, db, work))
    return {"results": results}
