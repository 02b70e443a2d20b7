"""`berth services [--project] [--environment] [--deleted]`: services and their latest deployment."""

from __future__ import annotations

import argparse
from typing import Any

from berth.client import queries
from berth.client.commands.common import AddParser
from berth.client.errors import EXIT_OK
from berth.client.format import short_time
from berth.client.runtime import api as make_api
from berth.client.runtime import print_json, run, say
from berth.client.table import table


def register(add: AddParser) -> None:
    parser = add("services", help="list services with their latest deployment")
    parser.add_argument("--project", help="only this project's (name or id)")
    parser.add_argument("--environment", help="only this environment's")
    parser.add_argument("--deleted", action="store_true", help="also deleted services (marked DELETED)")
    parser.add_argument("--json", action="store_true", help="print the services as one JSON array")
    parser.set_defaults(handler=lambda args, settings: run(lambda: services(args)))


def listed(projects: list[dict[str, Any]], args: argparse.Namespace) -> list[dict[str, Any]]:
    found = []
    for project in projects:
        if args.project is not None and args.project not in (project["name"], project["id"]):
            continue
        for service in project.get("services") or []:
            environment = (service.get("environment") or {}).get("name")
            if args.environment is None or args.environment == environment:
                found.append({**service, "project": {"id": project["id"], "name": project["name"]}})
    return found


def row(service: dict[str, Any]) -> list[str]:
    latest = service.get("latestDeployment") or {}
    state = "DELETED" if service.get("deletedAt") else ""
    last = ""
    if latest:
        last = f"#{latest['number']} {latest.get('conclusion') or latest['status']} {short_time(latest.get('createdAt'))}"
    return [
        str(service["id"]),
        f"{service['project']['name']}/{(service.get('environment') or {}).get('name') or '?'}/{service['name']}",
        str(service.get("sourceType") or ""),
        str((service.get("server") or {}).get("name") or "?"),
        last,
        state,
    ]


async def services(args: argparse.Namespace) -> int:
    async with make_api() as api:
        data = await api.execute(queries.SERVICE_LIST, {"includeDeleted": bool(args.deleted)})
    found = listed(list(data.get("projects") or []), args)
    if args.json:
        print_json(found)
    elif not found:
        say("no services")
    else:
        say(table(["ID", "SERVICE", "SOURCE", "SERVER", "LATEST DEPLOYMENT", "STATE"], [row(s) for s in found]))
    return EXIT_OK
