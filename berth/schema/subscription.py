"""The `Subscription` root: replay from the database, then live, in seq order, exactly once."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from berth.resolvers.common import principal_of
from berth.resolvers.subscriptions import (
    feed_project,
    follow,
    follow_feed,
    follow_log_batches,
    visible_deployment,
)
from berth.schema.directives import requires
from berth.schema.plain import plain
from berth.schema.types.deployment import LogLine, LogLineBatch
from berth.schema.types.events import DeploymentEvent


# Every message is completed in one pass where its selection allows (berth.schema.plain).
@strawberry.type(name="Subscription")
class Subscription:
    @strawberry.subscription(
        directives=requires("deploy:read"),
        description="Replays events with seq > afterSeq, then streams live ones; completes after CONCLUDED.",
    )
    async def deployment_events(
        self, info: strawberry.Info, deployment_id: strawberry.ID, after_seq: int | None = None
    ) -> AsyncGenerator[DeploymentEvent | None, None]:
        principal = principal_of(info)
        pk = await visible_deployment(info, deployment_id)
        async for row in follow(pk, "events", after_seq, principal):
            info.context.fresh_loaders()
            yield plain(DeploymentEvent.of(row))

    @strawberry.subscription(
        directives=requires("logs:read"),
        description="Replays log lines with seq > afterSeq, then streams live ones; "
        "completes when the deployment has concluded and every line was sent.",
    )
    async def deployment_logs(
        self, info: strawberry.Info, deployment_id: strawberry.ID, after_seq: int | None = None
    ) -> AsyncGenerator[LogLine | None, None]:
        principal = principal_of(info)
        pk = await visible_deployment(info, deployment_id)
        async for row in follow(pk, "logs", after_seq, principal):
            yield plain(LogLine.of(row))

    @strawberry.subscription(
        directives=requires("logs:read"),
        description="As deploymentLogs, but up to maxLines lines (default 500, at most 5000) per message, "
        "flushed at least every 100 ms while lines arrive.",
    )
    async def deployment_log_batches(
        self, info: strawberry.Info, deployment_id: strawberry.ID, after_seq: int | None = None,
        max_lines: int | None = None,
    ) -> AsyncGenerator[LogLineBatch | None, None]:
        principal = principal_of(info)
        pk = await visible_deployment(info, deployment_id)
        # Lines go out as soon as they are at hand (never held back to fill a batch), so
        # the 100 ms promise holds by construction; a fast producer fills whole batches.
        async for rows in follow_log_batches(pk, after_seq, max_lines, principal):
            yield plain(LogLineBatch(lines=[LogLine.of(row) for row in rows], last_seq=rows[-1].seq))

    @strawberry.subscription(
        directives=requires("deploy:read"),
        description="Every event of every deployment the caller may read (optionally one project), "
        "for dashboards; never completes.",
    )
    async def deployment_feed(
        self, info: strawberry.Info, project_id: strawberry.ID | None = None
    ) -> AsyncGenerator[DeploymentEvent | None, None]:
        principal = principal_of(info)
        project_pk = await feed_project(principal, project_id)
        async for row in follow_feed(principal, project_pk):
            info.context.fresh_loaders()
            yield plain(DeploymentEvent.of(row))
