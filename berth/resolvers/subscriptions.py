"""The subscriptions' resolvers: visibility at subscribe time through the domain, the
replay-then-live streams of `berth.events.streams`, their refusals as GraphQL errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import strawberry

from berth.auth.principal import Principal
from berth.domain.errors import UserFacingError
from berth.domain.queries import get_visible, log_batch_size
from berth.events import streams
from berth.events.broker import Kind
from berth.models import Deployment as DeploymentRow
from berth.models import DeploymentEvent as EventRow
from berth.models import Project as ProjectRow
from berth.resolvers.common import principal_of
from berth.schema.errors import CodedError
from berth.schema.ids import pk_of


def _coded(error: streams.StreamRefused) -> CodedError:
    return CodedError(error.message, error.code)


def known_still_valid(principal: Principal, since: float) -> bool | None:
    """`streams.known_still_valid`: the answer when it needs no waiting, else None."""
    return streams.known_still_valid(principal, since)


async def ensure_still_valid(principal: Principal, since: float | None = None) -> None:
    """`streams.ensure_still_valid`, refusing with UNAUTHENTICATED as a GraphQL error."""
    try:
        await streams.ensure_still_valid(principal, since)
    except streams.StreamRefused as error:
        raise _coded(error) from None


async def visible_deployment(info: strawberry.Info, deployment_id: strawberry.ID) -> int:
    pk = pk_of(deployment_id, "Deployment")
    row = await get_visible(principal_of(info), DeploymentRow, pk) if pk is not None else None
    if row is None:
        raise CodedError(f"No deployment with id {deployment_id!r}.", "NOT_FOUND")
    return pk  # type: ignore[return-value]


async def follow(pk: int, kind: Kind, after_seq: int | None, principal: Principal) -> AsyncIterator[Any]:
    # aclosing: an unsubscribe ends the stream (and its broker registration) at once.
    try:
        async with aclosing(streams.follow(pk, kind, after_seq, principal)) as rows:
            async for row in rows:
                yield row
    except streams.StreamRefused as error:
        raise _coded(error) from None


async def follow_log_batches(
    pk: int, after_seq: int | None, max_lines: int | None, principal: Principal
) -> AsyncIterator[list[Any]]:
    try:
        size = log_batch_size(max_lines)
    except UserFacingError as error:
        raise CodedError(error.message, "BAD_USER_INPUT", field=error.field) from None
    try:
        async with aclosing(streams.follow_batches(pk, "logs", after_seq, principal, size)) as batches:
            async for batch in batches:
                yield batch
    except streams.StreamRefused as error:
        raise _coded(error) from None


async def follow_feed(principal: Principal, project_pk: int | None) -> AsyncIterator[EventRow]:
    try:
        async with aclosing(streams.follow_feed(principal, project_pk)) as rows:
            async for row in rows:
                yield row
    except streams.StreamRefused as error:
        raise _coded(error) from None


async def feed_project(principal: Principal, project_id: strawberry.ID | None) -> int | None:
    """The project the feed is limited to (None: every visible one); NOT_FOUND if not visible."""
    if not project_id:
        return None
    project_pk = pk_of(project_id, "Project")
    if project_pk is None or await get_visible(principal, ProjectRow, project_pk) is None:
        raise CodedError(f"No project with id {project_id!r}.", "NOT_FOUND")
    return project_pk
