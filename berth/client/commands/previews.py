"""`berth previews [--service S]`: pull requests' previews, and where each answers."""

from __future__ import annotations

import argparse
from typing import Any

from berth.client.commands.common import AddParser
from berth.client.errors import EXIT_OK
from berth.client.format import short_time
from berth.client.runtime import api as make_api
from berth.client.runtime import print_json, run, say
from berth.client.services import resolve_service
from berth.client.table import table

STATUSES = ("active", "closed", "cleaned")
PREVIEW = "id pullRequest title headRef headSha baseRef author fork status createdAt updatedAt closedAt " \
          "cleanedAt addresses"

SERVICES = """
query PreviewedServices { projects { name services { id name environment { name } } } }
"""

# One service at a time: the previews of every service in one document would be estimated
# at projects × services × previews, beyond the query cost limit.
OF_SERVICE = f"""
query Previews($id: ID!, $status: PreviewStatus) {{
  service(id: $id) {{ previews(status: $status) {{ {PREVIEW} }} }}
}}
"""


def register(add: AddParser) -> None:
    parser = add("previews", help="pull requests' previews (git hooks with --previews)",
                 description="Every preview this credential may see, or one service's.")
    parser.add_argument("--service", metavar="NAME|ID", help="only this service's previews")
    parser.add_argument("--project", help="when several services share the name")
    parser.add_argument("--environment", help="when several services share the name")
    parser.add_argument("--status", choices=STATUSES, help="only previews in this state")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=lambda args, settings: run(lambda: list_previews(args)))


def _state(preview: dict[str, Any]) -> str:
    moment = preview.get("cleanedAt") or preview.get("closedAt") or preview.get("updatedAt")
    return f"{preview['status']} {short_time(moment)}" if moment else str(preview["status"])


async def list_previews(args: argparse.Namespace) -> int:
    status = args.status.upper() if args.status else None
    rows: list[tuple[str, dict[str, Any]]] = []
    async with make_api() as api:
        if args.service:
            only = await resolve_service(api, args.service, args.project, args.environment)
            services = [(only.label, only.id)]
        else:
            data = await api.execute(SERVICES)
            services = [(f"{project['name']}/{(service.get('environment') or {}).get('name', '?')}/{service['name']}",
                         service["id"])
                        for project in data.get("projects") or [] for service in project.get("services") or []]
        for place, service_id in services:
            found = (await api.execute(OF_SERVICE, {"id": service_id, "status": status})).get("service") or {}
            rows += [(place, preview) for preview in found.get("previews") or []]
    if args.json:
        print_json([{**preview, "service": place} for place, preview in rows])
        return EXIT_OK
    if not rows:
        say("no previews")
        return EXIT_OK
    say(table(["SERVICE", "PR", "STATUS", "HEAD", "BRANCH", "AUTHOR", "ADDRESS", "TITLE"], [
        [place, f"#{p['pullRequest']}" + (" (fork)" if p["fork"] else ""), _state(p), p["headSha"][:12],
         f"{p['headRef']} → {p['baseRef']}", p["author"] or "-", ", ".join(p["addresses"]) or "-", p["title"] or ""]
        for place, p in rows
    ]))
    return EXIT_OK
