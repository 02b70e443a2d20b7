"""Seeding: inventory and an owner token through the ORM (a few rows), deployments in bulk.

Deployments (with their seven steps and two events each) are written straight into the
tables — `executemany` in one transaction on SQLite, `COPY` on PostgreSQL — in exactly the
format Tortoise stores (checked against rows made by `lifecycle.create_deployment`), so
100,000 of them take seconds, not the minutes the API would. Their record JSON is built
by the real `domain.views.start_record` from each service, so rows are the size the
server really reads.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.config import DOCKER_HOST, REGISTRY
from bench.database import BenchDatabase, isolated, opened
from berth.auth.api_tokens import create_api_token
from berth.domain.views import Overrides, Target, start_record
from berth.models import Environment, Project, Server, Service
from berth.models.enums import STEP_ORDER, Role, SourceType, StepKind

# Deployment i was created at EPOCH + i * SPACING: seeding more later appends newer ones.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
SPACING = timedelta(seconds=20)
TAGS = ("v1.4.2", "v1.5.0", "v1.5.1")

DEPLOYMENT_COLUMNS = (
    "id", "number", "status", "conclusion", "trigger", "actor", "input", "config_snapshot",
    "declared_config", "frozen_input", "frozen_secrets_enc", "error", "reason", "created_at",
    "started_at", "concluded_at", "cancel_requested_at", "claimed_by", "lease_expires_at", "attempt",
    "last_log_seq", "last_event_seq", "environment_id", "project_id", "rollback_of_id", "server_id",
    "service_id",
)  # fmt: skip
STEP_COLUMNS = ("id", "kind", "position", "status", "started_at", "completed_at", "detail", "deployment_id")
EVENT_COLUMNS = ("id", "seq", "type", "at", "status", "conclusion", "step", "payload", "deployment_id")

ACTORS = (
    {"subject": "token:7", "email": None, "role": "AGENT", "tokenKind": "API_TOKEN", "tokenName": "ci-deployer"},
    {"subject": "auth0|5f1c", "email": "dana@example.com", "role": "DEVELOPER", "tokenKind": "JWT", "tokenName": None},
    {"subject": "auth0|77aa", "email": "lee@example.com", "role": "OPERATOR", "tokenKind": "JWT", "tokenName": None},
    {"subject": "token:3", "email": None, "role": "OPERATOR", "tokenKind": "API_TOKEN", "tokenName": "webhook"},
)  # fmt: skip
TRIGGERS = ("AGENT", "USER", "USER", "WEBHOOK")


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass
class SeededService:
    id: int
    name: str
    project_id: int
    environment_id: int
    server_id: int
    last_number: int = 0
    # One precomputed record (input, views, frozen input) per tag.
    records: list[dict[str, str | None]] = field(default_factory=list)


@dataclass
class Inventory:
    token: str
    server_ids: list[int]
    services: list[SeededService]
    seeded: int = 0  # deployments written so far

    def service(self, index: int) -> SeededService:
        return self.services[index % len(self.services)]


async def seed_inventory(db: BenchDatabase, **options: Any) -> Inventory:
    """Servers (the first is `local`), projects with production and staging, IMAGE
    services spread over them, and an owner API token (see `_seed_inventory`)."""
    return await isolated(_seed_inventory(db, **options))


async def _seed_inventory(
    db: BenchDatabase,
    *,
    services: int = 40,
    projects: int = 8,
    servers: int = 3,
    max_queued: int = 1000,
    image: str | None = None,
    health_check: dict[str, Any] | None = None,
) -> Inventory:
    image = image or f"{REGISTRY}/berth-bench/app:v1"
    health = health_check or {"kind": "HTTP", "port": 8080, "path": "/", "expectedStatus": [200],
                              "timeoutSeconds": 60, "intervalSeconds": 1}
    async with opened(db):
        server_rows = [
            await Server.create(
                name="local" if n == 0 else f"edge-{n}",
                docker_host=DOCKER_HOST if n == 0 else f"tcp://10.0.0.{n}:2376",
                max_queued_deployments=max_queued,
            )
            for n in range(servers)
        ]
        seeded: list[SeededService] = []
        for p in range(projects):
            project = await Project.create(name=f"project-{p}")
            environments = [await Environment.create(project=project, name=name)
                            for name in ("production", "staging")]
            for s in range(services // projects + (1 if p < services % projects else 0)):
                environment = environments[s % 2]
                server = server_rows[(p + s) % len(server_rows)]
                row = await Service.create(
                    project=project, environment=environment, server=server, name=f"svc-{s}",
                    source_type=SourceType.IMAGE,
                    source={"image": image, "ports": ["127.0.0.1::8080"]},
                    env=[{"key": "LOG_LEVEL", "secret": False, "value": "info"},
                         {"key": "REGION", "secret": False, "value": "eu-west-1"}],
                    health_check=health,
                )  # fmt: skip
                target = Target(service=row, server=server, environment=environment, project=project)
                records = []
                for tag in TAGS:
                    record = start_record(target, Overrides(image_tag=tag))
                    records.append({
                        key: (_json(value) if key != "frozen_secrets_enc" else value)
                        for key, value in record.items()
                    })  # fmt: skip
                seeded.append(SeededService(
                    id=row.id, name=row.name, project_id=project.id, environment_id=environment.id,
                    server_id=server.id, records=records,
                ))  # fmt: skip
        _row, token = await create_api_token(
            name="bench", role=Role.OWNER, scopes=None, project_ids=[], expires_in_days=None,
            created_by="bench", creator=None,
        )  # fmt: skip
    return Inventory(token=token, server_ids=[s.id for s in server_rows], services=seeded)


# ---------------------------------------------------------------- deployments in bulk


@dataclass
class Rows:
    deployments: list[tuple[Any, ...]]
    steps: list[tuple[Any, ...]]
    events: list[tuple[Any, ...]]


def _outcome(index: int) -> tuple[str, str]:
    """(status, conclusion): mostly successes, some failures, a few superseded."""
    roll = (index * 7919) % 100
    if roll < 7:
        return "FAILED", "FAILED"
    if roll < 10:
        return "COMPLETED", "SKIPPED"
    return "COMPLETED", "SUCCEEDED"


def _step_rows(kind_status: Sequence[tuple[StepKind, str, str | None]], created: datetime,
               deployment_id: int, next_id: Iterator[int], ran: bool) -> list[tuple[Any, ...]]:
    rows = []
    moment = created + timedelta(seconds=2)
    for position, (kind, status, detail) in enumerate(kind_status):
        started = completed = None
        if ran and status in ("SUCCEEDED", "FAILED"):
            started = moment
            completed = moment + timedelta(seconds=3)
            moment = completed
        elif status != "PENDING":
            completed = moment
        rows.append((next(next_id), str(kind), position, status, started, completed, detail, deployment_id))
    return rows


def build_rows(inv: Inventory, count: int, first_ids: tuple[int, int, int]) -> Rows:
    """`count` more deployments (indices inv.seeded …), as value tuples in column order."""
    deployment_id, step_id, event_id = first_ids
    step_ids = itertools.count(step_id)
    event_ids = itertools.count(event_id)
    deployments: list[tuple[Any, ...]] = []
    steps: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    actors = [_json(a) for a in ACTORS]
    for offset in range(count):
        index = inv.seeded + offset
        pk = deployment_id + offset
        service = inv.service(index * 31 + index // len(inv.services))
        service.last_number += 1
        record = service.records[index % len(service.records)]
        created = EPOCH + index * SPACING
        status, conclusion = _outcome(index)
        error = None
        plan: list[tuple[StepKind, str, str | None]]
        if conclusion == "SKIPPED":
            plan = [(kind, "SKIPPED", None) for kind in STEP_ORDER]
            started = None
        elif conclusion == "FAILED":
            error = _json({"step": "HEALTH", "code": "HEALTH_FAILED",
                           "message": "GET http://127.0.0.1:8080/ answered 503 for 60 s"})
            plan = [(StepKind.CLONE, "SKIPPED", None), (StepKind.BUILD, "SKIPPED", None),
                    (StepKind.PULL, "SUCCEEDED", None), (StepKind.VOLUME, "SKIPPED", None),
                    (StepKind.START, "SUCCEEDED", None),
                    (StepKind.HEALTH, "FAILED", "GET / answered 503"),
                    (StepKind.FINALIZE, "SKIPPED", None)]  # fmt: skip
            started = created + timedelta(seconds=1)
        else:
            plan = [(StepKind.CLONE, "SKIPPED", None), (StepKind.BUILD, "SKIPPED", None),
                    (StepKind.PULL, "SUCCEEDED", None), (StepKind.VOLUME, "SKIPPED", None),
                    (StepKind.START, "SUCCEEDED", None), (StepKind.HEALTH, "SUCCEEDED", "healthy after 2 s"),
                    (StepKind.FINALIZE, "SUCCEEDED", None)]  # fmt: skip
            started = created + timedelta(seconds=1)
        step_rows = _step_rows(plan, created, pk, step_ids, ran=started is not None)
        concluded = step_rows[-1][5] or created + timedelta(seconds=1)
        steps.extend(step_rows)
        actor = index % len(ACTORS)
        deployments.append((
            pk, service.last_number, status, conclusion, TRIGGERS[actor], actors[actor],
            record["input"], record["config_snapshot"], record["declared_config"], record["frozen_input"],
            record["frozen_secrets_enc"], error, None, created, started, concluded, None,
            "runner-bench:1" if started else None, None, 1 if started else 0, 0, 2,
            service.environment_id, service.project_id, None, service.server_id, service.id,
        ))  # fmt: skip
        events.append((next(event_ids), 1, "CREATED", created, "QUEUED", None, None, "{}", pk))
        events.append((next(event_ids), 2, "CONCLUDED", concluded, status, conclusion, None,
                       _json({"error": json.loads(error) if error else None}), pk))
    return Rows(deployments, steps, events)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")  # how Tortoise stores a datetime on SQLite
    return value


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" for _ in columns)})'


async def seed_deployments(db: BenchDatabase, inv: Inventory, count: int) -> None:
    """Append `count` finished deployments (newer than every seeded one so far)."""
    if db.is_postgres:
        await _seed_postgres(db, inv, count)
    else:
        _seed_sqlite(db, inv, count)
    inv.seeded += count


def _seed_sqlite(db: BenchDatabase, inv: Inventory, count: int) -> None:
    path = db.url.removeprefix("sqlite://")
    conn = sqlite3.connect(path, timeout=60)
    try:
        firsts = tuple(
            int(conn.execute(f'SELECT COALESCE(MAX(id), 0) + 1 FROM "{table}"').fetchone()[0])
            for table in ("deployment", "deployment_step", "deployment_event")
        )
        rows = build_rows(inv, count, firsts)  # type: ignore[arg-type]
        with conn:
            for table, columns, values in (
                ("deployment", DEPLOYMENT_COLUMNS, rows.deployments),
                ("deployment_step", STEP_COLUMNS, rows.steps),
                ("deployment_event", EVENT_COLUMNS, rows.events),
            ):
                conn.executemany(_insert_sql(table, columns),
                                 ([_sqlite_value(v) for v in row] for row in values))
            conn.executemany(
                'UPDATE "service" SET "last_deployment_number" = ? WHERE "id" = ?',
                [(s.last_number, s.id) for s in inv.services],
            )
    finally:
        conn.close()


async def _seed_postgres(db: BenchDatabase, inv: Inventory, count: int) -> None:
    conn = await db.connect()
    try:
        firsts = []
        for table in ("deployment", "deployment_step", "deployment_event"):
            firsts.append(int(await conn.fetchval(f'SELECT COALESCE(MAX(id), 0) + 1 FROM "{table}"')))
        rows = build_rows(inv, count, (firsts[0], firsts[1], firsts[2]))
        async with conn.transaction():
            for table, columns, values in (
                ("deployment", DEPLOYMENT_COLUMNS, rows.deployments),
                ("deployment_step", STEP_COLUMNS, rows.steps),
                ("deployment_event", EVENT_COLUMNS, rows.events),
            ):
                await conn.copy_records_to_table(table, records=values, columns=list(columns))
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM \"{table}\"))"
                )
            await conn.executemany(
                'UPDATE "service" SET "last_deployment_number" = $1 WHERE "id" = $2',
                [(s.last_number, s.id) for s in inv.services],
            )
        # What autovacuum would have done by the time a table holds this many rows: the
        # statistics, and the visibility map that lets COUNT(*) read an index only.
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
