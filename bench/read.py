"""1. Read: `deployments(first: 50)` with service, server, steps and actor.

For each database and seeded size: Berth (runner stopped) and the ceiling — the same query
on a bare Strawberry schema answering the same data from memory (bench/ceiling.py), under
the same uvicorn setup — run alternately, round after round. Each side of a round is a
serial phase (one connection: latency per request) and a concurrent phase
(`read_concurrency` connections: requests/s of the phase; the figure is the median and
the slow-side p99 over the rounds). Before measuring, the two answers are
compared (they must be equal) and Berth's SQL statements per request are counted at
first: 5 and first: 50 (a constant count means no N+1). After the rounds a separate Berth
server answers the query under cProfile: the functions with the most own time go in the
report (what is left to win).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from bench.config import Plan
from bench.database import BenchDatabase, fresh_database
from bench.load import LoadResult, closed_loop, graphql_request, post_json
from bench.profiles import top_functions
from bench.seed import Inventory, seed_deployments, seed_inventory
from bench.server import ServerProcess, bench_call, berth_server, ceiling_server
from bench.stats import latency_summary, rate_summary, ratio

PAGE = 50
QUERY = """
query Deployments($first: Int!) {
  deployments(first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id number status conclusion trigger createdAt startedAt concludedAt
      service { id name sourceType }
      server { id name }
      steps { kind status startedAt completedAt }
      actor { subject email role tokenKind tokenName }
    }
  }
}
"""


async def sql_per_request(server: ServerProcess, token: str, first: int) -> tuple[int, list[str]]:
    raw = graphql_request(server.port, QUERY, {"first": first}, token)
    await post_json(server.port, raw)
    await bench_call(server, "/_bench/sql", {"on": True})
    try:
        await post_json(server.port, raw)
        counted = await bench_call(server, "/_bench/sql")
    finally:
        await bench_call(server, "/_bench/sql", {"on": False})
    return int(counted["count"]), list(counted["statements"])


class Side:
    """One server's measurements across rounds."""

    def __init__(self, name: str, server: ServerProcess, raw: bytes) -> None:
        self.name = name
        self.server = server
        self.raw = raw
        self.latencies: list[float] = []
        self.rates: list[float] = []
        self.errors = 0
        self.first_error: str | None = None

    def _keep_errors(self, result: LoadResult) -> None:
        self.errors += result.errors
        self.first_error = self.first_error or result.first_error

    async def warm(self, seconds: float, concurrency: int) -> None:
        await closed_loop(self.server.port, lambda n: self.raw, concurrency=concurrency, duration=seconds)

    async def round(self, seconds: float, concurrency: int) -> None:
        serial = await closed_loop(self.server.port, lambda n: self.raw, concurrency=1, duration=seconds / 2)
        self.latencies += serial.latencies
        self._keep_errors(serial)
        loaded = await closed_loop(self.server.port, lambda n: self.raw, concurrency=concurrency,
                                   duration=seconds / 2)
        self.rates.append(loaded.rate)
        self._keep_errors(loaded)

    def summary(self) -> dict[str, Any]:
        return {
            "requests_per_s": rate_summary(self.rates),
            "latency": latency_summary(self.latencies),
            "errors": self.errors,
            **({"first_error": self.first_error} if self.first_error else {}),
        }


async def measure_size(plan: Plan, db: BenchDatabase, inv: Inventory, size: int, work: Path) -> dict[str, Any]:
    tag = f"{db.dialect}-{size}"
    berth = berth_server(f"berth-read-{tag}", db.url, db.data_dir, work)
    await berth.start()
    ceiling: ServerProcess | None = None
    try:
        raw_berth = graphql_request(berth.port, QUERY, {"first": PAGE}, inv.token)
        answer = await post_json(berth.port, raw_berth)
        if answer.get("errors"):
            raise RuntimeError(f"Berth answered errors: {answer['errors']}")
        data_file = work / f"ceiling-{tag}.json"
        data_file.write_text(json.dumps(answer["data"]["deployments"]))
        ceiling = ceiling_server(f"ceiling-{tag}", data_file, work)
        await ceiling.start()
        raw_ceiling = graphql_request(ceiling.port, QUERY, {"first": PAGE}, inv.token)
        if await post_json(ceiling.port, raw_ceiling) != answer:
            raise RuntimeError("the ceiling's answer differs from Berth's")
        small, _ = await sql_per_request(berth, inv.token, 5)
        large, listed = await sql_per_request(berth, inv.token, PAGE)
        statements = {"first_5": small, "first_50": large}
        print(f"   read: {db.label}, {size:,}: servers up and answers equal", file=sys.stderr)
        sides = [Side("berth", berth, raw_berth), Side("ceiling", ceiling, raw_ceiling)]
        for side in sides:
            await side.warm(plan.read_warmup_seconds, plan.read_concurrency)
        for number in range(plan.read_rounds):
            # Alternate which side goes first, so a drift of the machine hits both alike.
            for side in sides if number % 2 == 0 else reversed(sides):
                await side.round(plan.read_round_seconds, plan.read_concurrency)
        berth_side, ceiling_side = (s.summary() for s in sides)
        profile = await profile_reads(db, inv, tag, work, plan.read_round_seconds)
        return {
            "database": db.label,
            "deployments": size,
            "page": PAGE,
            "concurrency": plan.read_concurrency,
            "rounds": plan.read_rounds,
            "berth": berth_side,
            "ceiling": ceiling_side,
            "ratio_rps": ratio(berth_side["requests_per_s"]["median"], ceiling_side["requests_per_s"]["median"]),
            "ratio_p50_latency": ratio(ceiling_side["latency"]["p50_ms"], berth_side["latency"]["p50_ms"]),
            "sql_statements_per_request": statements,
            "sql_statements": listed,
            "response_bytes": len(json.dumps(answer)),
            "profile": profile,
        }
    finally:
        berth.stop()
        if ceiling is not None:
            ceiling.stop()


async def profile_reads(db: BenchDatabase, inv: Inventory, tag: str, work: Path, seconds: float) -> dict[str, Any]:
    """What is left of a read's cost: a separate Berth server under cProfile answers the query
    serially for `seconds` (after the measured rounds, so no figure pays the profiler)."""
    path = work / f"read-profile-{tag}.prof"
    server = berth_server(f"berth-read-profile-{tag}", db.url, db.data_dir, work, profile=path)
    await server.start()
    try:
        raw = graphql_request(server.port, QUERY, {"first": PAGE}, inv.token)
        served = await closed_loop(server.port, lambda n: raw, concurrency=1, duration=seconds)
    finally:
        server.stop()
    return {"requests": len(served.latencies), "top_own_time": top_functions(path)}


async def run(plan: Plan, work: Path) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    for dialect in plan.databases:
        async with fresh_database(dialect) as db:
            inv = await seed_inventory(db)
            for size in plan.read_sizes:
                began = time.monotonic()
                await seed_deployments(db, inv, size - inv.seeded)
                print(f"   read: {db.label}, seeded {size:,} deployments in {time.monotonic() - began:.1f} s",
                      file=sys.stderr)
                results.append(await measure_size(plan, db, inv, size, work))
    return {"query": " ".join(QUERY.split()), "results": results}
