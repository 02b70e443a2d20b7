"""`Deployment.logs`: a connection over log lines by `seq` (the cursor is the seq)."""

from __future__ import annotations

from berth.models import LogLine as LogLineRow
from berth.schema.errors import CodedError
from berth.schema.types.common import PageInfo
from berth.schema.types.deployment import LogLine, LogLineConnection, LogLineEdge

DEFAULT_PAGE = 20
MAX_PAGE = 100


# Sequence numbers are INTEGER columns: a larger cursor is not one of ours.
MAX_SEQ = 2**31 - 1


def _after_seq(after: str | None) -> int:
    if after is None:
        return 0
    if not (after.isascii() and after.isdigit() and int(after) <= MAX_SEQ):
        raise CodedError("`after` is not a log cursor.", "BAD_USER_INPUT", field=["after"])
    return int(after)


async def resolve_logs(deployment_id: int, first: int | None, after: str | None) -> LogLineConnection:
    size = DEFAULT_PAGE if first is None else first
    if not 1 <= size <= MAX_PAGE:
        raise CodedError(f"`first` must be between 1 and {MAX_PAGE}.", "BAD_USER_INPUT", field=["first"])
    start = _after_seq(after)
    # One row more than asked tells whether there is a next page.
    rows = await LogLineRow.filter(deployment_id=deployment_id, seq__gt=start).order_by("seq").limit(size + 1)
    has_next = len(rows) > size
    rows = rows[:size]
    edges = [LogLineEdge(cursor=str(row.seq), node=LogLine.of(row)) for row in rows]
    return LogLineConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=start > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
