"""`berth deployments [--service] [--status] [--pending-approval] [--limit]`: the newest
deployments as a table."""

from __future__ import annotations

import argparse
from typing import Any

from berth.client import queries
from berth.client.approval_text import approvals_given
from berth.client.commands.common import AddParser
from berth.client.errors import EXIT_OK, UsageProblem
from berth.client.format import deployment_took, scope_label, short_time
from berth.client.runtime import api as make_api
from berth.client.runtime import print_json, run, say
from berth.client.services import resolve_service
from berth.client.table import table

STATUSES = ("QUEUED", "PREPARE", "DEPLOY", "FINALIZE", "COMPLETED", "FAILED")
CONCLUSIONS = ("SUCCEEDED", "CANCELED", "SKIPPED")
ALIASES = {"RUNNING": ("PREPARE", "DEPLOY", "FINALIZE")}
MAX_LIMIT = 100


def register(add: AddParser) -> None:
    parser = add("deployments", help="list deployments, newest first")
    parser.add_argument("--service", metavar="NAME|ID", help="only this service's")
    parser.add_argument("--project", help="with --service: when several services share the name")
    parser.add_argument("--environment", help="with --service: when several services share the name")
    parser.add_argument(
        "--status", action="append", metavar="STATUS",
        help="QUEUED, RUNNING, PREPARE, DEPLOY, FINALIZE, COMPLETED, FAILED, or a conclusion: "
        "SUCCEEDED, CANCELED, SKIPPED (repeatable or comma-separated)",
    )  # fmt: skip
    parser.add_argument(
        "--pending-approval", action="store_true",
        help="only those waiting for approval in a protected environment (berth approve / reject)",
    )  # fmt: skip
    parser.add_argument("--limit", type=int, default=20, help=f"how many (1–{MAX_LIMIT}, default 20)")
    parser.add_argument("--json", action="store_true", help="print the records as one JSON array")
    parser.set_defaults(handler=lambda args, settings: run(lambda: deployments(args)))


def status_filter(values: list[str] | None) -> dict[str, list[str]]:
    statuses: list[str] = []
    conclusions: list[str] = []
    for raw in values or []:
        for item in filter(None, (part.strip().upper() for part in raw.split(","))):
            if item in ALIASES:
                statuses += ALIASES[item]
            elif item in STATUSES:
                statuses.append(item)
            elif item in CONCLUSIONS:
                conclusions.append(item)
            else:
                known = ", ".join([*STATUSES, "RUNNING", *CONCLUSIONS])
                raise UsageProblem(f"--status: unknown status {item!r} (one of {known})")
    found: dict[str, list[str]] = {}
    if statuses:
        found["status"] = sorted(set(statuses), key=statuses.index)
    if conclusions:
        found["conclusion"] = sorted(set(conclusions), key=conclusions.index)
    return found


async def deployments(args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= MAX_LIMIT:
        raise UsageProblem(f"--limit: must be between 1 and {MAX_LIMIT}, got {args.limit}")
    wanted = status_filter(args.status)
    if args.pending_approval:
        if args.status:
            raise UsageProblem("--pending-approval lists QUEUED deployments only: leave out --status")
        # The API filters by status; which QUEUED ones wait for approval is read from each.
        wanted = {"status": ["QUEUED"]}
    async with make_api() as api:
        base: dict[str, Any] = {}
        if args.service:
            service = await resolve_service(api, args.service, args.project, args.environment)
            base["serviceId"] = service.id
        # Statuses and conclusions are alternatives (QUEUED or SKIPPED), while the API's
        # filter fields all apply at once: one query per kind, merged newest first.
        filters = [{**base, key: values} for key, values in wanted.items()] or [base]
        records: list[dict[str, Any]] = []
        total = 0
        for query_filter in filters:
            first = MAX_LIMIT if args.pending_approval else args.limit
            data = await api.execute(queries.DEPLOYMENTS, {"first": first, "filter": query_filter or None})
            connection = data.get("deployments") or {"nodes": [], "totalCount": 0}
            records += connection["nodes"]
            total += int(connection["totalCount"])
    if args.pending_approval:
        records = [r for r in records if (r.get("approval") or {}).get("state") == "PENDING"]
        total = len(records)
    records.sort(key=lambda record: (str(record["createdAt"]), int(record["number"])), reverse=True)
    records = records[: args.limit]
    if args.json:
        print_json(records)
        return EXIT_OK
    if not records:
        say("no deployments waiting for approval" if args.pending_approval else "no deployments")
        return EXIT_OK
    say(
        table(
            ["ID", "#", "SERVICE", "STATUS", "TRIGGER", "ACTOR", "CREATED", "TOOK", "SOURCE"],
            [row(r) for r in records],
        )
    )
    if total > len(records):
        say(f"({len(records)} of {total}; --limit shows more)")
    return EXIT_OK


def row(record: dict[str, Any]) -> list[str]:
    status = str(record.get("conclusion") or record["status"])
    approval = record.get("approval") or {}
    if approval.get("state") == "PENDING" and record["status"] == "QUEUED":
        status += f" (approvals {approvals_given(record)}/{approval.get('required')})"
    actor = record.get("actor") or {}
    return [
        str(record["id"]),
        str(record["number"]),
        scope_label(record),
        status,
        str(record.get("trigger") or ""),
        str(actor.get("tokenName") or actor.get("email") or actor.get("subject") or ""),
        short_time(record.get("createdAt")),
        deployment_took(record),
        source_summary(record.get("input") or {}),
    ]


def source_summary(data: dict[str, Any]) -> str:
    if data.get("sourceType") == "IMAGE":
        image = str(data.get("image") or "")
        return f"{image}:{data['imageTag']}" if data.get("imageTag") else image
    if data.get("repository"):
        sha = str(data.get("commitSha") or "")[:10]
        return f"{data['repository']}@{sha or data.get('ref') or 'HEAD'}"
    files = data.get("composeFiles") or []
    return "compose " + ",".join(files) if files else str(data.get("sourceType") or "")
