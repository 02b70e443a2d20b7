"""6. Webhooks: a signed GitHub push received → its deployment QUEUED, with the runner stopped.

A fresh database per dialect with 10,000 finished deployments, DOCKERFILE services each
followed by a GitHub hook (made through `createGitHook`), then two phases:

* latency — signed push deliveries sent one at a time; the 202 answer comes after the
  delivery row and the QUEUED deployment are committed, so the answer's latency is
  "received → QUEUED";
* sustained — deliveries paced at `webhook_rate` per second over several connections for
  `webhook_seconds`, then the ledger is counted: every delivery id stored exactly once, each
  with exactly one deployment, none lost or doubled.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.config import Plan
from bench.database import BenchDatabase, fresh_database, isolated, opened
from bench.load import LoadResult, closed_loop, graphql_request, post_json
from bench.seed import Inventory, seed_deployments, seed_inventory
from bench.server import ServerProcess, berth_server
from bench.stats import latency_summary
from berth.models import Deployment, Service
from berth.models.enums import SourceType, WebhookOutcome
from berth.models.git import WebhookDelivery
from berth.schema.ids import to_global_id

BACKGROUND_DEPLOYMENTS = 10_000
HOOKED_SERVICES = 20
REPOSITORY = "team/app"
CREATE_HOOK = """
mutation Hook($input: CreateGitHookInput!) {
  createGitHook(input: $input) { gitHook { url } secret errors { code message } }
}
"""
# Sustained load: enough connections that one slow answer does not hold the pace back.
SUSTAINED_CONNECTIONS = 8


@dataclass(frozen=True)
class Hook:
    path: str
    secret: str


async def _make_repository_services(db: BenchDatabase, inv: Inventory) -> list[int]:
    """Turn the first services into DOCKERFILE ones (a hook deploys only repositories)."""
    ids = [s.id for s in inv.services[:HOOKED_SERVICES]]

    async def convert() -> None:
        async with opened(db):
            await Service.filter(id__in=ids).update(
                source_type=SourceType.DOCKERFILE,
                source={"repository": "https://git.example.test/team/app.git", "branch": "main"},
            )

    await isolated(convert())
    return ids


async def _create_hooks(server: ServerProcess, token: str, service_ids: list[int]) -> list[Hook]:
    hooks = []
    for pk in service_ids:
        variables = {"input": {"serviceId": to_global_id("Service", pk), "provider": "GITHUB",
                               "repository": REPOSITORY, "branch": "main"}}
        answer = await post_json(server.port, graphql_request(server.port, CREATE_HOOK, variables, token))
        payload = (answer.get("data") or {}).get("createGitHook") or {}
        if answer.get("errors") or payload.get("errors") or not payload.get("secret"):
            raise RuntimeError(f"createGitHook failed: {answer}")
        hooks.append(Hook(path=urlsplit(payload["gitHook"]["url"]).path, secret=payload["secret"]))
    return hooks


def push_request(port: int, hook: Hook, n: int, delivery: str) -> bytes:
    """A GitHub push of a fresh commit to main, signed as GitHub signs it."""
    sha = hashlib.sha1(f"{delivery}-{n}".encode()).hexdigest()
    body = json.dumps({
        "ref": "refs/heads/main", "before": "0" * 40, "after": sha, "created": False, "deleted": False,
        "repository": {"full_name": REPOSITORY, "name": "app"},
        "head_commit": {"id": sha, "message": "change"}, "commits": [],
        "pusher": {"name": "bench", "email": "bench@example.test"},
    }).encode()  # fmt: skip
    signature = hmac.new(hook.secret.encode(), body, hashlib.sha256).hexdigest()
    head = [
        f"POST {hook.path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        "X-GitHub-Event: push",
        f"X-GitHub-Delivery: {delivery}",
        f"X-Hub-Signature-256: sha256={signature}",
        f"Content-Length: {len(body)}",
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def deployed(status: int, body: bytes) -> str | None:
    if status != 202:
        return f"HTTP {status}: {body[:300]!r}"
    if json.loads(body).get("outcome") != WebhookOutcome.DEPLOYED.value:
        return f"not deployed: {body[:300]!r}"
    return None


async def _ledger(db: BenchDatabase, delivery_ids: list[str]) -> dict[str, Any]:
    """What the database holds for the sustained phase's deliveries."""

    async def count() -> dict[str, Any]:
        async with opened(db):
            rows = await WebhookDelivery.filter(delivery_id__in=delivery_ids).values(
                "delivery_id", "outcome", "deployment_id")
            deployment_ids = [r["deployment_id"] for r in rows if r["deployment_id"] is not None]
            stored = await Deployment.filter(id__in=deployment_ids).count() if deployment_ids else 0
        by_id: dict[str, int] = {}
        for r in rows:
            by_id[r["delivery_id"]] = by_id.get(r["delivery_id"], 0) + 1
        return {
            "sent": len(delivery_ids),
            "stored": len(rows),
            "lost": sum(1 for d in delivery_ids if d not in by_id),
            "doubled": sum(1 for n in by_id.values() if n > 1),
            "deployed": sum(1 for r in rows if r["outcome"] == WebhookOutcome.DEPLOYED),
            "deployments": stored,
            "distinct_deployments": len(set(deployment_ids)),
        }

    return await isolated(count())


@dataclass
class Phases:
    latency: LoadResult
    sustained: LoadResult
    sustained_ids: list[str]


async def _measure(plan: Plan, port: int, hooks: list[Hook]) -> Phases:
    run_id = uuid.uuid4().hex[:8]

    def latency_request(n: int) -> bytes:
        return push_request(port, hooks[n % len(hooks)], n, f"lat-{run_id}-{n}")

    warm = await closed_loop(port, latency_request, concurrency=1, requests=20, check=deployed)
    if warm.errors:
        raise RuntimeError(f"warm-up: {warm.errors} failed; first: {warm.first_error}")
    latency = await closed_loop(port, lambda n: latency_request(n + 20), concurrency=1,
                                requests=plan.webhook_requests, check=deployed)
    if latency.errors:
        raise RuntimeError(f"latency: {latency.errors} failed; first: {latency.first_error}")

    total = int(plan.webhook_rate * plan.webhook_seconds)
    sustained_ids = [f"sus-{run_id}-{n}" for n in range(total)]
    paced_from = time.perf_counter()

    async def pace(n: int) -> None:
        # Open-loop pacing: request n leaves at its slot, not when the last answer came back.
        delay = paced_from + n / plan.webhook_rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)

    sustained = await closed_loop(
        port, lambda n: push_request(port, hooks[n % len(hooks)], n, sustained_ids[n]),
        concurrency=SUSTAINED_CONNECTIONS, requests=total, check=deployed, before_each=pace,
    )
    return Phases(latency, sustained, sustained_ids)


async def run(plan: Plan, work: Path) -> dict[str, Any]:
    results = []
    for dialect in plan.databases:
        async with fresh_database(dialect) as db:
            inv = await seed_inventory(db, services=HOOKED_SERVICES + 20, projects=10)
            await seed_deployments(db, inv, BACKGROUND_DEPLOYMENTS)
            service_ids = await _make_repository_services(db, inv)
            server = berth_server(f"berth-webhooks-{dialect}", db.url, db.data_dir, work)
            await server.start()
            try:
                hooks = await _create_hooks(server, inv.token, service_ids)
                phases = await _measure(plan, server.port, hooks)
            finally:
                server.stop()
            ledger = await _ledger(db, phases.sustained_ids)
            sustained = phases.sustained
            results.append({
                "database": db.label,
                "background_deployments": BACKGROUND_DEPLOYMENTS,
                "hooks": len(hooks),
                "received_to_queued": latency_summary(phases.latency.latencies),
                "sustained": {
                    "target_per_s": plan.webhook_rate,
                    "achieved_per_s": round(len(sustained.latencies) / sustained.seconds, 1)
                    if sustained.seconds else 0.0,
                    "errors": sustained.errors,
                    "first_error": sustained.first_error,
                    "latency": latency_summary(sustained.latencies),
                    "ledger": ledger,
                },
            })  # fmt: skip
    return {"results": results}
