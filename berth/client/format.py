"""Small text helpers shared by the renderers and tables: times, durations, colour."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any, TextIO


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(seconds, 0.0)
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def between(start: Any, end: Any = None) -> float | None:
    """Seconds from `start` to `end` (or now); None without a start."""
    begun = parse_time(start)
    if begun is None:
        return None
    finished = parse_time(end) if end else datetime.now(UTC)
    return (finished - begun).total_seconds() if finished else None


def deployment_took(record: dict[str, Any]) -> str:
    """How long a deployment ran: from `startedAt` (a runner began it) to `concludedAt`, or
    to now while it runs; "" when it never started (concluded or still waiting in the queue).
    The one definition behind `berth deployments` TOOK and `berth show`'s "took"."""
    if not record.get("startedAt"):
        return ""
    return duration(between(record["startedAt"], record.get("concludedAt")))


def short_time(value: Any) -> str:
    moment = parse_time(value)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def wants_colour(stream: TextIO) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


class Style:
    """ANSI styles, or none at all when the stream is not a colour terminal."""

    CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles:
            return text
        codes = ";".join(self.CODES[name] for name in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"


def scope_label(record: dict[str, Any]) -> str:
    """project/environment/service of a deployment record, as far as the credential may see."""
    parts = [(record.get(edge) or {}).get("name") for edge in ("project", "environment", "service")]
    known = [part for part in parts if part]
    return "/".join(known) if known else "?"


def first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""
