"""`berth service delete NAME`: delete a service — what it runs on its server is stopped and
removed (containers, their volumes, compose networks) by the runner shortly after; its
deployment records stay, read-only. Refused while a deployment of it is queued or running.

NAME is `project/environment/service`, or the service name (or id) when that is unique.
At a terminal it asks first; elsewhere it needs --yes (volumes hold data).
"""

from __future__ import annotations

import argparse
import sys

from berth.client import queries
from berth.client.commands.common import AddParser
from berth.client.errors import EXIT_OK, UsageProblem
from berth.client.graphql_errors import raise_for_user_errors
from berth.client.runtime import api as make_api
from berth.client.runtime import print_json, run, say
from berth.client.services import ServiceRef, resolve_service


def register(add: AddParser) -> None:
    parser = add(
        "delete",
        help="delete a service: remove what it runs, keep its deployment records",
        description="The runner stops and removes the service's containers, volumes and compose networks on "
        "its server within an observer interval; the deployment records stay readable. Refused while a "
        "deployment of the service is queued or running.",
    )
    parser.add_argument("name", metavar="NAME", help="project/environment/service, or the service name or id")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask (needed when not at a terminal)")
    parser.add_argument("--json", action="store_true", help="print the deleted service as JSON")
    parser.set_defaults(handler=lambda args, settings: run(lambda: delete(args)))


def split_name(value: str) -> tuple[str | None, str | None, str]:
    """`project/environment/service` → its parts; a bare name → (None, None, name)."""
    parts = value.split("/")
    if len(parts) == 1:
        return None, None, value
    if len(parts) != 3 or not all(parts):
        raise UsageProblem(f"NAME: expected project/environment/service or a service name, got {value!r}")
    return parts[0], parts[1], parts[2]


def confirmed(service: ServiceRef, args: argparse.Namespace) -> bool:
    if args.yes:
        return True
    if not sys.stdin.isatty():
        raise UsageProblem(f"deleting {service.label} removes its containers and volumes: add --yes to confirm")
    sys.stderr.write(f"delete {service.label} and remove its containers and volumes? [y/N] ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


async def delete(args: argparse.Namespace) -> int:
    project, environment, name = split_name(args.name)
    async with make_api() as api:
        service = await resolve_service(api, name, project, environment, flag="NAME")
        if not confirmed(service, args):
            say("nothing deleted")
            return EXIT_OK
        data = await api.execute(queries.DELETE_SERVICE, {"input": {"serviceId": service.id}})
        payload = data["deleteService"]
        raise_for_user_errors(payload["errors"], {"input.serviceId": "NAME"})
    deleted = payload["service"]
    if args.json:
        print_json(deleted)
    else:
        ref = ServiceRef.of(deleted)
        say(f"deleted service {ref.label}: the runner removes what it runs on server {ref.server_name or '?'}; "
            "its deployments stay readable (berth deployments --service ID)")  # fmt: skip
    return EXIT_OK
