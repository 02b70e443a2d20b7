"""7. Notifications: a deployment's conclusion committed → its signed WEBHOOK delivery read
by a receiver on loopback.

A fresh database per dialect, one project with a WEBHOOK channel subscribed to
`deployment.succeeded`, and the notification sender running in this process as it runs
beside the embedded runner of `berth serve` (woken by the lifecycle's commit listeners).
Deployments are moved through the lifecycle rules one at a time; the clock starts when the
conclusion's transaction has committed (`apply_change` returned) and stops when the receiver
has read the whole request. Every delivery is checked: signature, one request per delivery id.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tortoise.transactions import in_transaction

from bench.config import Plan
from bench.database import BenchDatabase, fresh_database, isolated, opened
from bench.stats import latency_summary
from berth.auth.principal import Principal, make_principal
from berth.auth.scopes import ALL_SCOPES
from berth.domain.notifications import ChannelSpec, create_channel
from berth.models import Environment, NotificationDelivery, Project, Server, Service
from berth.models.enums import (
    DeploymentConclusion,
    DeploymentStatus,
    DeploymentTrigger,
    NotificationDeliveryStatus,
    NotificationKind,
    Role,
    SourceType,
    StepKind,
    StepStatus,
    TokenKind,
)
from berth.models.lifecycle import StepChange, apply_change, create_deployment
from berth.runner.notification_sender import NotificationSender
from berth.settings import get_settings

S = DeploymentStatus
WARMUP = 10
RECEIVE_TIMEOUT = 30.0


@dataclass
class Receiver:
    """A minimal HTTP/1.1 server on loopback: reads each POST, answers 204, notes when."""

    secret: str
    arrivals: dict[str, float] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)
    bad_signatures: int = 0
    waiting: dict[str, asyncio.Future[float]] = field(default_factory=dict)
    server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                now = time.perf_counter()
                delivery = headers.get("x-berth-delivery", "")
                expected = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(expected, headers.get("x-berth-signature-256", "")):
                    self.bad_signatures += 1
                self.seen[delivery] = self.seen.get(delivery, 0) + 1
                self.arrivals.setdefault(delivery, now)
                deployment = json.loads(body).get("deployment", {}).get("label", "")
                future = self.waiting.pop(deployment, None)
                if future is not None and not future.done():
                    future.set_result(now)
                writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def _owner() -> Principal:
    return make_principal(subject="bench", email=None, role=Role.OWNER, token_kind=TokenKind.API_TOKEN,
                          credential_scopes=ALL_SCOPES, token_name="bench", token_id=0)


async def _measure(db: BenchDatabase, count: int) -> dict[str, Any]:
    async with opened(db):
        server = await Server.create(name="local", docker_host="tcp://127.0.0.1:9")
        project = await Project.create(name="shop")
        environment = await Environment.create(project=project, name="production")
        service = await Service.create(project=project, environment=environment, server=server, name="web",
                                       source_type=SourceType.IMAGE, source={"image": "nginx:alpine"})
        receiver = Receiver(secret="")
        port = await receiver.start()
        _channel, secret = await create_channel(_owner(), ChannelSpec(
            project_id=project.id, name="bench", kind=NotificationKind.WEBHOOK,
            url=f"http://127.0.0.1:{port}/hook", events=["deployment.succeeded"]))
        assert secret is not None
        receiver.secret = secret
        sender = NotificationSender(replace(get_settings(), public_url="https://berth.example.test"))
        await sender.start()
        latencies: list[float] = []
        try:
            for n in range(1, WARMUP + count + 1):
                async with in_transaction() as conn:
                    deployment = await create_deployment(
                        conn, service_id=service.id, project_id=project.id, environment_id=environment.id,
                        server_id=server.id, number=n, trigger=DeploymentTrigger.API, actor={"subject": "bench"},
                        input={}, config_snapshot={}, declared_config={}, frozen_input={})
                for source, target in ((S.QUEUED, S.PREPARE), (S.PREPARE, S.DEPLOY), (S.DEPLOY, S.FINALIZE)):
                    await apply_change(deployment.id, from_status=source, to_status=target)
                arrived: asyncio.Future[float] = asyncio.get_running_loop().create_future()
                receiver.waiting[f"shop/production/web #{n}"] = arrived
                await apply_change(deployment.id, from_status=S.FINALIZE, to_status=S.COMPLETED,
                                   conclusion=DeploymentConclusion.SUCCEEDED,
                                   steps=[StepChange(kind, StepStatus.SKIPPED) for kind in StepKind])
                committed = time.perf_counter()
                at = await asyncio.wait_for(arrived, RECEIVE_TIMEOUT)
                if n > WARMUP:
                    latencies.append(at - committed)
        finally:
            await sender.stop()
            await receiver.stop()
        delivered = await NotificationDelivery.filter(status=NotificationDeliveryStatus.DELIVERED).count()
    return {
        "database": db.label,
        "conclusion_to_receiver": latency_summary(latencies),
        "delivered": delivered,
        "requests": sum(receiver.seen.values()),
        "doubled": sum(1 for n in receiver.seen.values() if n > 1),
        "bad_signatures": receiver.bad_signatures,
    }


async def run(plan: Plan, work: Path) -> dict[str, Any]:
    count = 50 if plan.quick else 300
    results = []
    for dialect in plan.databases:
        async with fresh_database(dialect) as db:
            results.append(await isolated(_measure(db, count)))
    return {"results": results}
