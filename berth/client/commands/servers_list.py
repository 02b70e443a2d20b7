"""`berth servers`: the Docker hosts deployments target, as the observer last saw them."""

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
    parser = add("servers", help="list servers (Docker hosts) and whether they answer")
    parser.add_argument("--json", action="store_true", help="print the servers as one JSON array")
    parser.set_defaults(handler=lambda args, settings: run(lambda: servers(args)))


def reachability(server: dict[str, Any]) -> str:
    if server.get("reachable") is None:
        return "not checked yet"
    return "reachable" if server["reachable"] else "UNREACHABLE"


def proxy_summary(server: dict[str, Any]) -> str:
    """The proxy's state as the runner last read it, e.g. `RUNNING 0.0.0.0:80, 2 routes`."""
    proxy = server.get("proxy") or {}
    routes = int(proxy.get("routes") or 0)
    if not routes and proxy.get("state") in (None, "ABSENT"):
        return "-"
    where = f" {proxy['httpAddress']}" if proxy.get("httpAddress") else ""
    return f"{proxy.get('state') or 'ABSENT'}{where}, {routes} route{'s' if routes != 1 else ''}"


async def servers(args: argparse.Namespace) -> int:
    async with make_api() as api:
        found = list((await api.execute(queries.SERVER_LIST)).get("servers") or [])
    if args.json:
        print_json(found)
    elif not found:
        say("no servers")
    else:
        rows = [
            [str(s["id"]), s["name"], s["dockerHost"], reachability(s), str(s.get("dockerVersion") or "-"),
             short_time(s.get("lastCheckedAt")), f"{s['maxConcurrentDeployments']}/{s['maxQueuedDeployments']}",
             proxy_summary(s)]
            for s in found
        ]  # fmt: skip
        say(table(["ID", "NAME", "DOCKER HOST", "STATE", "DOCKER", "CHECKED", "RUN/QUEUE", "PROXY"], rows))
    return EXIT_OK
