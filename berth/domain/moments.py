"""Moments given by clients (DateTime arguments, positions inside cursors), parsed once.

Every moment is compared in UTC (SQLite compares stored timestamps as text). Converting
can fail even for text that parses: `9999-12-31T23:59:59-05:00` is in year 10000 in UTC,
`0001-01-01T00:00:00+05:00` before year 1. Such values are refused as bad input with a
reason, here, rather than overflowing later inside a query.
"""

from __future__ import annotations

from datetime import UTC, datetime


class BadMoment(ValueError):
    """Text that is not a usable moment; the message says why (without echoing it)."""


def to_utc(moment: datetime) -> datetime:
    """The same instant in UTC; naive moments are taken as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise BadMoment("is outside the representable range (years 1–9999) once converted to UTC") from None


def parse_moment(text: object) -> datetime:
    """ISO 8601 text as an aware UTC datetime, or BadMoment."""
    if not isinstance(text, str):
        raise BadMoment("must be an ISO 8601 date-time string")
    if len(text) > 64 or not text.isascii():
        raise BadMoment("is not an ISO 8601 date-time")
    try:
        parsed = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise BadMoment("is not an ISO 8601 date-time") from None
    return to_utc(parsed)
