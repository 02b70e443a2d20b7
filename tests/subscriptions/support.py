"""Helpers for the subscription tests: credentials, a scripted deployment as a runner writes
it, what is stored of it, and waiting for a feed to be live. The clients are in
`tests.support.graphql` (gql) and `tests.support.websocket` (raw)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from typing import Any

from berth.auth.api_tokens import create_api_token
from berth.models import Deployment, DeploymentEvent, LogLine, Service
from berth.models.enums import (
    DeploymentConclusion,
    DeploymentStatus,
    LogStream,
    Role,
    StepKind,
    StepStatus,
)
from berth.models.lifecycle import LogEntry, StepChange, append_logs, apply_change
from berth.schema.ids import to_global_id
from tests.models.factories import make_deployment, make_service
from tests.support.graphql import GqlStream

TIMEOUT = 30.0

EVENTS = """subscription ($id: ID!, $after: Int) {
  deploymentEvents(deploymentId: $id, afterSeq: $after) {
    seq type status conclusion step { kind status } deployment { id status }
  }
}"""
LOGS = """subscription ($id: ID!, $after: Int) {
  deploymentLogs(deploymentId: $id, afterSeq: $after) { seq text stream step }
}"""
FEED = """subscription ($project: ID) {
  deploymentFeed(projectId: $project) { seq type deployment { id project { id } } }
}"""


# ---------------------------------------------------------------- credentials and data


async def token(role: Role = Role.OWNER, projects: Sequence[int] = (), scopes: Sequence[str] | None = None) -> str:
    _, secret = await create_api_token("subscriber", role, scopes, list(projects), None, "test", None)
    return secret


async def token_with_id(role: Role = Role.OWNER, expires_in_days: int | None = None) -> tuple[int, str]:
    row, secret = await create_api_token("subscriber", role, None, [], expires_in_days, "test", None)
    return row.id, secret


def gid(type_name: str, pk: int) -> str:
    return to_global_id(type_name, pk)


async def new_deployment(service: Service | None = None) -> Deployment:
    return await make_deployment(service or await make_service())


Phase = Callable[[], Awaitable[Any]]


def scripted_phases(pk: int, lines_per_step: int = 20, batch: int = 50, text: str = "line") -> list[Phase]:
    """An IMAGE deployment from QUEUED to COMPLETED/SUCCEEDED, as a runner writes it,
    one phase per transaction group; log lines in batches of `batch`."""

    def move(**kwargs: Any) -> Phase:
        async def run() -> None:
            await apply_change(pk, **kwargs)

        return run

    def steps(*changes: tuple[StepKind, StepStatus]) -> list[StepChange]:
        return [StepChange(kind, status) for kind, status in changes]

    def logs(step: StepKind) -> Phase:
        async def run() -> None:
            for start in range(0, lines_per_step, batch):
                count = min(batch, lines_per_step - start)
                await append_logs(
                    pk,
                    [
                        LogEntry(f"{text} {step.value.lower()} {start + i}", LogStream.STDOUT, step)
                        for i in range(count)
                    ],
                )

        return run

    S = DeploymentStatus
    return [
        move(
            from_status=S.QUEUED,
            to_status=S.PREPARE,
            steps=steps(
                (StepKind.CLONE, StepStatus.SKIPPED),
                (StepKind.BUILD, StepStatus.SKIPPED),
                (StepKind.PULL, StepStatus.RUNNING),
            ),
        ),
        logs(StepKind.PULL),
        move(steps=steps((StepKind.PULL, StepStatus.SUCCEEDED))),
        move(from_status=S.PREPARE, to_status=S.DEPLOY, steps=steps((StepKind.VOLUME, StepStatus.RUNNING))),
        move(steps=steps((StepKind.VOLUME, StepStatus.SUCCEEDED), (StepKind.START, StepStatus.RUNNING))),
        logs(StepKind.START),
        move(steps=steps((StepKind.START, StepStatus.SUCCEEDED))),
        move(from_status=S.DEPLOY, to_status=S.FINALIZE, steps=steps((StepKind.HEALTH, StepStatus.RUNNING))),
        logs(StepKind.HEALTH),
        move(steps=steps((StepKind.HEALTH, StepStatus.SUCCEEDED), (StepKind.FINALIZE, StepStatus.RUNNING))),
        move(steps=steps((StepKind.FINALIZE, StepStatus.SUCCEEDED))),
        move(
            from_status=S.FINALIZE,
            to_status=S.COMPLETED,
            conclusion=DeploymentConclusion.SUCCEEDED,
        ),
    ]


async def run_phases(phases: Sequence[Phase]) -> None:
    for phase in phases:
        await phase()


async def stored_events(pk: int) -> list[tuple[int, str]]:
    rows = await DeploymentEvent.filter(deployment_id=pk).order_by("seq").values_list("seq", "type")
    return [(int(seq), str(kind)) for seq, kind in rows]


async def stored_logs(pk: int) -> list[tuple[int, str]]:
    rows = await LogLine.filter(deployment_id=pk).order_by("seq").values_list("seq", "text")
    return [(int(seq), str(text)) for seq, text in rows]


async def until_live(feed: GqlStream, service: Service, deadline: float = TIMEOUT) -> list[int]:
    """Return once `feed` carries new events. A feed streams what happens from the moment
    the server set it up, which no message tells the client; so create deployments of
    `service` (one CREATED event each) until one shows up. Returns their ids."""
    created: list[int] = []
    async with asyncio.timeout(deadline):
        while True:
            created.append((await make_deployment(service)).id)
            with suppress(AssertionError):
                await feed.collector.wait(lambda c: bool(c.items) or c.done, timeout=1, what="a first event")
                assert not feed.collector.done, (feed.collector.errors, feed.collector.closed)
                return created
