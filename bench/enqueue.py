"""2. Enqueue: `startDeployment` latency with the runner stopped.

A fresh database per dialect with 10,000 finished deployments in it, then mutations sent
one at a time (a client waiting for each answer) in two phases:

* first in queue — each request starts a service that has nothing queued;
* supersedes one — each request starts a service that already has a QUEUED deployment,
  which the new one concludes as SKIPPED in the same transaction.

Then the cost of the audit trail: superseding starts with it and without it (a bench-only
switch in the bench's server), alternating. Also the SQL statements one mutation costs
(counted on a start that supersedes one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.config import Plan
from bench.database import fresh_database
from bench.load import closed_loop, graphql_request, post_json
from bench.seed import seed_deployments, seed_inventory
from bench.server import ServerProcess, bench_call, berth_server
from bench.stats import latency_summary
from berth.schema.ids import to_global_id

MUTATION = """
mutation Start($input: StartDeploymentInput!) {
  startDeployment(input: $input) { deployment { id number status } errors { code message } }
}
"""
BACKGROUND_DEPLOYMENTS = 10_000
AUDIT_ROUNDS = 4


def start_request(server: ServerProcess, token: str, service_id: int) -> bytes:
    variables = {"input": {"serviceId": to_global_id("Service", service_id), "reason": "bench"}}
    return graphql_request(server.port, MUTATION, variables, token)


async def audit_cost(server: ServerProcess, requests: list[bytes]) -> dict[str, Any]:
    """The same superseding start with the audit trail and without it (the bench-only switch),
    alternating in AUDIT_ROUNDS rounds so drift on the machine falls on both sides alike."""
    latencies: dict[bool, list[float]] = {True: [], False: []}
    per_round = max(1, len(requests) // AUDIT_ROUNDS)
    try:
        for _ in range(AUDIT_ROUNDS):
            for on in (True, False):
                await bench_call(server, "/_bench/audit", {"on": on})
                result = await closed_loop(server.port, requests.__getitem__, concurrency=1, requests=per_round)
                if result.errors:
                    raise RuntimeError(f"audit {on}: {result.errors} failed requests; first: {result.first_error}")
                latencies[on].extend(result.latencies)
    finally:
        await bench_call(server, "/_bench/audit", {"on": True})
    return {"with": latency_summary(latencies[True]), "without": latency_summary(latencies[False])}


async def run(plan: Plan, work: Path) -> dict[str, Any]:
    results = []
    count = plan.enqueue_requests
    for dialect in plan.databases:
        async with fresh_database(dialect) as db:
            inv = await seed_inventory(db, services=count + 1, projects=10)
            await seed_deployments(db, inv, BACKGROUND_DEPLOYMENTS)
            server = berth_server(f"berth-enqueue-{dialect}", db.url, db.data_dir, work)
            await server.start()
            try:
                ids = [s.id for s in inv.services]
                # Warm-up on the spare service (also checks the mutation works).
                answer = await post_json(server.port, start_request(server, inv.token, ids[-1]))
                payload = (answer.get("data") or {}).get("startDeployment") or {}
                if answer.get("errors") or payload.get("errors"):
                    raise RuntimeError(f"startDeployment failed: {answer}")
                phases: dict[str, Any] = {}
                requests = [start_request(server, inv.token, pk) for pk in ids[:count]]
                for phase in ("first_in_queue", "supersedes_one"):
                    result = await closed_loop(server.port, requests.__getitem__, concurrency=1, requests=count)
                    if result.errors:
                        raise RuntimeError(f"{phase}: {result.errors} failed requests; first: {result.first_error}")
                    phases[phase] = latency_summary(result.latencies)
                phases["audit"] = await audit_cost(server, requests)
                await bench_call(server, "/_bench/sql", {"on": True})
                await post_json(server.port, start_request(server, inv.token, ids[0]))
                counted = await bench_call(server, "/_bench/sql")
                await bench_call(server, "/_bench/sql", {"on": False})
            finally:
                server.stop()
            results.append({
                "database": db.label,
                "background_deployments": BACKGROUND_DEPLOYMENTS,
                "requests_per_phase": count,
                **phases,
                # One start that supersedes one queued deployment (as in the second phase).
                "sql_statements_per_request": counted["count"],
                "sql_statements": counted["statements"],
            })  # fmt: skip
    return {"results": results}
