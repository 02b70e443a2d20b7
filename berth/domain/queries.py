"""Reads: visibility (who may see which project, service, deployment: only here; which API
tokens a principal manages is the role rule of `berth.auth.scopes.may_manage_token`),
deployment lists with keyset pagination, queue positions, log pages.

Every list is a fixed number of SQL statements whatever the page size (a count, the page,
at most one existence probe), and every read is filtered to the caller's projects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Generic, TypeVar

from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from berth.auth.principal import Principal
from berth.domain.cursors import (
    MAX_INT,
    decode_deployment_cursor,
    encode_deployment_cursor,
)
from berth.domain.errors import ErrorList, FieldPath, UserErrorCode, UserFacingError
from berth.domain.moments import BadMoment, to_utc
from berth.domain.specs import DeploymentFilterSpec
from berth.models import Deployment, LogLine, Project, Server
from berth.models.enums import ApprovalState, DeploymentConclusion, DeploymentStatus, DeploymentTrigger
from berth.models.sql import fetch_rows

DEFAULT_PAGE = 20
MAX_PAGE = 100

M = TypeVar("M", bound=Model)
N = TypeVar("N")


async def get_visible(principal: Principal, model: type[M], pk: int) -> M | None:
    """The object, or None when it does not exist or belongs to a project the caller may not see.

    Servers belong to no project; every other model here carries `project_id`.
    """
    instance = await model.get_or_none(id=pk)
    if instance is None or model is Server:
        return instance
    project_id = pk if model is Project else getattr(instance, "project_id", None)
    if project_id is None or not project_visible(principal, int(project_id)):
        return None
    return instance


def project_visible(principal: Principal, project_id: int) -> bool:
    """Whether the caller may see this project and what belongs to it (e.g. a feed's events)."""
    return principal.may_see_project(project_id)


def visible(principal: Principal, query: QuerySet[M]) -> QuerySet[M]:
    """Restrict a query on a model with `project_id` to the caller's projects."""
    if principal.is_project_limited:
        return query.filter(project_id__in=sorted(principal.project_ids))
    return query


async def visible_projects(principal: Principal) -> list[Project]:
    """The projects the caller may see, by id."""
    query = Project.all()
    if principal.is_project_limited:
        query = query.filter(id__in=sorted(principal.project_ids))
    return list(await query.order_by("id"))


async def all_servers() -> list[Server]:
    """Every server, by id: servers belong to no project (`server:read` decides)."""
    return list(await Server.all().order_by("id"))




# ---------------------------------------------------------------- cursors

def deployment_cursor(deployment: Deployment) -> str:
    """Opaque keyset position: (created_at, id) survives rows arriving before or after it."""
    return encode_deployment_cursor(deployment.created_at, deployment.id)


def _deployment_position(cursor: str, field_name: str, errors: ErrorList) -> tuple[datetime, int] | None:
    position = decode_deployment_cursor(cursor)
    if position is None:
        errors.add([field_name], f"{field_name} is not a cursor from this list")
    return position


def keyset_cursor(moment: datetime, pk: int) -> str:
    """The (moment, id) cursor of any newest-first list (deployments, webhook deliveries)."""
    return encode_deployment_cursor(moment, pk)


def keyset_position(cursor: str, field_name: str, errors: ErrorList) -> tuple[datetime, int] | None:
    return _deployment_position(cursor, field_name, errors)


def page_size(value: int | None, field_name: str, errors: ErrorList) -> int:
    return _page_size(value, field_name, errors)


async def newest_first_page(query: QuerySet[M], moment_field: str, first: int | None,
                            after: str | None, with_total: bool = True) -> Page[M]:
    """A page of `query` newest first, keyset-paged on (moment_field, id) like deployments
    (webhook deliveries, notification deliveries). The caller has applied visibility."""
    errors = ErrorList()
    size = page_size(first, "first", errors)
    position = keyset_position(after, "after", errors) if after is not None else None
    errors.raise_if_any()
    window = query
    if position is not None:
        moment, pk = position
        window = window.filter(_before(moment_field, moment, pk, "lt"))
    rows = list(await window.order_by(f"-{moment_field}", "-id").limit(size + 1))
    nodes = rows[:size]
    cursors = [keyset_cursor(getattr(row, moment_field), row.pk) for row in nodes]
    return Page(
        nodes=nodes,
        has_next_page=len(rows) > size,
        has_previous_page=position is not None and await query.filter(
            _before(moment_field, position[0], position[1], "gt")).exists(),
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
        cursors=cursors,
        total_count=await query.count() if with_total else None,
    )


def _before(moment_field: str, moment: datetime, pk: int, op: str) -> Q:
    """(moment_field, id) strictly `op` (lt, gt) the position."""
    earlier: dict[str, object] = {f"{moment_field}__{op}": moment}
    tie: dict[str, object] = {moment_field: moment, f"id__{op}": pk}
    return Q(**earlier) | Q(**tie)  # type: ignore[arg-type]


def log_cursor(line: LogLine) -> str:
    return str(line.seq)


# ---------------------------------------------------------------- pages

@dataclass
class Page(Generic[N]):
    nodes: list[N]
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None
    # One cursor per node, for the connection's edges.
    cursors: list[str] = field(default_factory=list)
    total_count: int | None = None


DeploymentPage = Page[Deployment]
LogLinePage = Page[LogLine]


def _page_size(value: int | None, field_name: str, errors: ErrorList) -> int:
    if value is None:
        return DEFAULT_PAGE
    if not 1 <= value <= MAX_PAGE:
        errors.add([field_name], f"{field_name} must be between 1 and {MAX_PAGE}")
    return value


def _enum_values(values: Sequence[str] | None, enum: type[StrEnum], path: FieldPath,
                 errors: ErrorList) -> list[str] | None:
    if values is None:
        return None
    try:
        return [str(enum(str(value))) for value in values]
    except ValueError:
        errors.add(path, f"{path[-1]} has a value that is not a {enum.__name__}")
        return None


def _filtered(principal: Principal, spec: DeploymentFilterSpec, errors: ErrorList) -> QuerySet[Deployment]:
    query = visible(principal, Deployment.all())
    for name in ("project_id", "service_id", "environment_id", "server_id", "preview_id"):
        value = getattr(spec, name)
        if value is not None:
            query = query.filter(**{name: value})
    for name, enum in (("status", DeploymentStatus), ("conclusion", DeploymentConclusion),
                       ("trigger", DeploymentTrigger)):
        values = _enum_values(getattr(spec, name), enum, ["filter", name], errors)
        if values is not None:
            query = query.filter(**{f"{name}__in": values})
    # Both bounds are exclusive: "after" and "before" a moment.
    for name, argument, lookup in (("created_after", "createdAfter", "created_at__gt"),
                                   ("created_before", "createdBefore", "created_at__lt")):
        bound = getattr(spec, name)
        if bound is None:
            continue
        try:
            # SQLite compares stored timestamps as text: a bound with another offset must
            # be converted to UTC before it is compared.
            query = query.filter(**{lookup: to_utc(bound)})
        except BadMoment as problem:
            errors.add(["filter", argument], f"{argument} {problem}")
    return query


def _older_than(position: tuple[datetime, int]) -> Q:
    moment, pk = position
    return Q(created_at__lt=moment) | Q(created_at=moment, id__lt=pk)


def _newer_than(position: tuple[datetime, int]) -> Q:
    moment, pk = position
    return Q(created_at__gt=moment) | Q(created_at=moment, id__gt=pk)


async def list_deployments(
    principal: Principal,
    filter: DeploymentFilterSpec | None = None,  # the GraphQL argument's name
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    with_total: bool = True,
    columns: Sequence[str] | None = None,
) -> DeploymentPage:
    """Newest first. `first`/`after` pages towards older deployments, `last`/`before` towards
    newer ones; positions are keysets, so rows created meanwhile neither repeat nor skip rows.

    `columns`: read only these (partial rows, for a list that shows no more); they must
    include `id` and `created_at`, the keyset."""
    errors = ErrorList()
    if first is not None and last is not None:
        errors.add(["last"], "give first or last, not both")
    backward = last is not None
    size = _page_size(last if backward else first, "last" if backward else "first", errors)
    after_position = _deployment_position(after, "after", errors) if after is not None else None
    before_position = _deployment_position(before, "before", errors) if before is not None else None
    query = _filtered(principal, filter or DeploymentFilterSpec(), errors)
    errors.raise_if_any()

    window = query.only(*columns) if columns is not None else query
    if after_position is not None:
        window = window.filter(_older_than(after_position))
    if before_position is not None:
        window = window.filter(_newer_than(before_position))
    if backward:
        rows = await fetch_rows(window.order_by("created_at", "id").limit(size + 1))
        more = len(rows) > size
        nodes = list(reversed(rows[:size]))
        has_previous, has_next = more, False
        if before_position is not None:
            has_next = await query.filter(_older_than(before_position)).exists()
    else:
        rows = await fetch_rows(window.order_by("-created_at", "-id").limit(size + 1))
        more = len(rows) > size
        nodes = rows[:size]
        has_next, has_previous = more, False
        if after_position is not None:
            has_previous = await query.filter(_newer_than(after_position)).exists()
    cursors = [deployment_cursor(node) for node in nodes]
    return Page(
        nodes=nodes,
        has_next_page=has_next,
        has_previous_page=has_previous,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
        cursors=cursors,
        # A full count is a scan of the filtered set: only when the caller wants it.
        total_count=await query.count() if with_total else None,
    )


async def queue_positions(deployments: Sequence[Deployment]) -> dict[int, int | None]:
    """1-based positions in their servers' queues, ordered by (created_at, id); None when not
    QUEUED, or waiting for approval (outside the queue until approved). One query for any
    number of deployments (for a batching loader)."""
    positions: dict[int, int | None] = {d.id: None for d in deployments}
    servers = sorted({
        d.server_id for d in deployments  # type: ignore[attr-defined]
        if d.status == DeploymentStatus.QUEUED and d.approval_state != ApprovalState.PENDING
    })
    if not servers:
        return positions
    queued = await Deployment.filter(
        server_id__in=servers, status=DeploymentStatus.QUEUED, approval_state__not=ApprovalState.PENDING
    ).order_by(
        "created_at", "id"
    ).values_list("id", "server_id")
    counters: dict[int, int] = {}
    for pk, server_id in queued:
        counters[server_id] = counters.get(server_id, 0) + 1
        if pk in positions:
            positions[pk] = counters[server_id]
    return positions


async def queue_position(deployment: Deployment) -> int | None:
    return (await queue_positions([deployment]))[deployment.id]


DEFAULT_LOG_BATCH = 500
MAX_LOG_BATCH = 5000


def log_batch_size(max_lines: int | None) -> int:
    """Lines per `deploymentLogBatches` message: `maxLines`, default 500, at most 5000."""
    size = DEFAULT_LOG_BATCH if max_lines is None else max_lines
    if not 1 <= size <= MAX_LOG_BATCH:
        raise UserFacingError(
            UserErrorCode.INVALID_INPUT, f"`maxLines` must be between 1 and {MAX_LOG_BATCH}.", ["maxLines"]
        )
    return size


async def list_log_lines(
    deployment_id: int, first: int | None = None, after: str | None = None
) -> LogLinePage:
    """Log lines by seq; the caller has checked that the deployment is visible.

    The cursor is the line's seq as text: seq is gap-free from 1, so a client may also
    start after any number it already holds (CONTRACT `Deployment.logs`).
    """
    size = DEFAULT_PAGE if first is None else first
    if not 1 <= size <= MAX_PAGE:
        raise UserFacingError(
            UserErrorCode.INVALID_INPUT, f"`first` must be between 1 and {MAX_PAGE}.", ["first"]
        )
    after_seq = _after_seq(after)
    # One row more than asked tells whether there is a next page.
    rows = list(
        await LogLine.filter(deployment_id=deployment_id, seq__gt=after_seq).order_by("seq").limit(size + 1)
    )
    nodes = rows[:size]
    cursors = [log_cursor(line) for line in nodes]
    return Page(
        nodes=nodes,
        has_next_page=len(rows) > size,
        # seq is gap-free from 1, so anything after seq 0 has lines before it.
        has_previous_page=after_seq > 0,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
        cursors=cursors,
    )


def _after_seq(after: str | None) -> int:
    if after is None:
        return 0
    # Sequence numbers are INTEGER columns: a larger cursor is not one of ours (and the
    # length check comes first: int() refuses texts of thousands of digits with an error).
    if not (after.isascii() and after.isdigit() and len(after) <= 10 and int(after) <= MAX_INT):
        raise UserFacingError(UserErrorCode.INVALID_INPUT, "`after` is not a log cursor.", ["after"])
    return int(after)
