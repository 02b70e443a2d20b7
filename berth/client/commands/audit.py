"""`berth audit`: who did what, newest first (needs audit:read)."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from berth.client import queries
from berth.client.commands.common import AddParser
from berth.client.errors import EXIT_OK, UsageProblem
from berth.client.format import short_time
from berth.client.runtime import api as make_api
from berth.client.runtime import print_json, run, say
from berth.client.table import table

MAX_LIMIT = 100
_RELATIVE = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def register(add: AddParser) -> None:
    parser = add("audit", help="show the audit trail: mutations, refused credentials, git hook deliveries")
    parser.add_argument("--action", help="only this action (e.g. deployment.start), or a prefix: deployment.*")
    parser.add_argument("--subject", help="only what this actor (credential subject) did")
    parser.add_argument("--since", metavar="WHEN",
                        help="only entries since WHEN: an ISO time (2026-12-01T10:00Z) or an age (30m, 2h, 7d)")
    parser.add_argument("--limit", type=int, default=20, help=f"how many (1–{MAX_LIMIT}, default 20)")
    parser.add_argument("--json", action="store_true", help="print the entries as one JSON array")
    parser.set_defaults(handler=lambda args, settings: run(lambda: audit(args)))


def parse_when(value: str, now: datetime | None = None) -> datetime:
    """An ISO 8601 moment (UTC when no offset is given) or an age before now."""
    text = value.strip()
    relative = _RELATIVE.fullmatch(text)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: amount})
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageProblem(f"--since {value!r} is neither an ISO time nor an age like 30m, 2h or 7d") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def audit_filter(args: argparse.Namespace) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if args.action:
        found["action"] = args.action
    if args.subject:
        found["subject"] = args.subject
    if args.since:
        found["since"] = parse_when(args.since).isoformat()
    return found


def actor_summary(actor: dict[str, Any] | None) -> str:
    if not actor:
        return "-"
    name = actor.get("tokenName") or actor.get("email") or actor.get("subject") or "?"
    return f"{name} ({actor['role'].lower()})" if actor.get("role") else str(name)


def target_summary(entry: dict[str, Any]) -> str:
    """How a person reads the target: `shop/production/web #7`, as the entry names it."""
    details = entry.get("details") or {}
    label = details.get("target")
    if label:
        return str(label)
    return entry.get("targetType") or "-"


def row(entry: dict[str, Any]) -> list[str]:
    details = entry.get("details") or {}
    note = details.get("reason") or "; ".join(
        str(e.get("message")) for e in details.get("errors") or [] if isinstance(e, dict)) or ""
    if entry["action"] == "githook.delivery":
        note = " ".join(str(part) for part in (details.get("outcome"), details.get("deployment")) if part)
    return [short_time(entry["at"]), entry["action"], entry["outcome"], actor_summary(entry.get("actor")),
            target_summary(entry), entry.get("remoteAddress") or "-", note[:80]]


async def audit(args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= MAX_LIMIT:
        raise UsageProblem(f"--limit must be between 1 and {MAX_LIMIT}")
    variables = {"first": args.limit, "filter": audit_filter(args)}
    async with make_api() as api:
        data = await api.execute(queries.AUDIT_EVENTS, variables)
    entries = [edge["node"] for edge in ((data.get("auditEvents") or {}).get("edges") or [])]
    if args.json:
        print_json(entries)
    elif not entries:
        say("no audit entries")
    else:
        say(table(["AT", "ACTION", "OUTCOME", "ACTOR", "TARGET", "FROM", "NOTE"], [row(e) for e in entries]))
    return EXIT_OK
