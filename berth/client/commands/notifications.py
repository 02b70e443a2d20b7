"""`berth notifications`: a project's notification channels — list, create, delete, test, and
one channel's deliveries (docs/notifications.md).

The channel's URL is a credential (a Slack or Discord webhook URL is what lets anyone post):
`create` reads it from the environment variable `--url-env` names, never from argv, which
the process list shows. It is never printed back (the API never returns it).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from berth.client.commands.common import AddParser
from berth.client.errors import EXIT_OK, InputProblem, UsageProblem
from berth.client.format import short_time
from berth.client.graphql_errors import raise_for_user_errors
from berth.client.runtime import api as make_api
from berth.client.runtime import print_json, run, say
from berth.client.services import inventory
from berth.client.table import table

KINDS = ("webhook", "slack", "discord")
MAX_LIMIT = 100
CHANNEL = "id name kind events createdAt"
PAYLOAD = f"channel {{ {CHANNEL} project {{ id name }} }} secret errors {{ code message field }}"

LIST = f"query Channels {{ projects {{ id name notificationChannels {{ {CHANNEL} }} }} }}"
CREATE = f"""
mutation CreateNotificationChannel($input: CreateNotificationChannelInput!) {{
  createNotificationChannel(input: $input) {{ {PAYLOAD} }}
}}
"""
DELETE = f"mutation DeleteNotificationChannel($id: ID!) {{ deleteNotificationChannel(id: $id) {{ {PAYLOAD} }} }}"
TEST = f"mutation TestNotificationChannel($id: ID!) {{ testNotificationChannel(id: $id) {{ {PAYLOAD} }} }}"
DELIVERIES = """
query ChannelDeliveries($id: ID!, $first: Int) {
  node(id: $id) { ... on NotificationChannel { name
    deliveries(first: $first) { edges { node {
      id event status attempts responseStatus lastError createdAt deliveredAt deployment { id number } } } } } }
}
"""

FLAGS = {"input.projectId": "--project", "input.name": "--name", "input.kind": "--kind",
         "input.url": "--url-env", "input.events": "--event", "id": "CHANNEL"}


def _sub(sub: Any, parser: argparse.ArgumentParser, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    command: argparse.ArgumentParser = sub.add_parser(name, **kwargs)
    command.__class__ = parser.__class__  # usage errors exit 3, as the parent's
    return command


def register(add: AddParser) -> None:
    parser = add("notifications", help="notification channels: where a project's deployment events are sent",
                 description="Without a subcommand: every channel this credential may see (never their URLs).")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=lambda args, settings: run(lambda: list_channels(args)))
    sub = parser.add_subparsers(dest="notifications_command")
    listing = _sub(sub, parser, "list", help="every channel this credential may see")
    listing.add_argument("--project", help="only this project (name or id)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=lambda args, settings: run(lambda: list_channels(args)))
    create = _sub(sub, parser, "create", help="create a channel; a WEBHOOK's signing secret is shown once")
    create.add_argument("--project", required=True, help="project name or id")
    create.add_argument("--name", required=True, help="unique within the project")
    create.add_argument("--kind", required=True, choices=KINDS)
    # The URL comes from the environment, never from argv: the process list shows argv.
    create.add_argument("--url-env", required=True, metavar="VAR",
                        help="the channel's URL is in environment variable VAR (a Slack or Discord URL is a credential)")
    create.add_argument("--event", action="append", metavar="EVENT",
                        help="deployment.started, .succeeded, .failed, .canceled, .skipped, .rolled_back "
                             "or deployment.* (repeatable; default deployment.*)")
    create.add_argument("--json", action="store_true", help="print JSON")
    create.set_defaults(handler=lambda args, settings: run(lambda: create_channel(args)))
    delete = _sub(sub, parser, "delete", help="delete a channel and its deliveries, pending ones included")
    delete.add_argument("channel", metavar="CHANNEL", help="channel id")
    delete.set_defaults(handler=lambda args, settings: run(lambda: delete_channel(args)))
    test = _sub(sub, parser, "test", help="send a notification.test event to the channel now")
    test.add_argument("channel", metavar="CHANNEL", help="channel id")
    test.set_defaults(handler=lambda args, settings: run(lambda: test_channel(args)))
    deliveries = _sub(sub, parser, "deliveries", help="what became of a channel's events, newest first")
    deliveries.add_argument("channel", metavar="CHANNEL", help="channel id")
    deliveries.add_argument("--limit", type=int, default=20, help=f"how many (1–{MAX_LIMIT}, default 20)")
    deliveries.add_argument("--json", action="store_true", help="print JSON")
    deliveries.set_defaults(handler=lambda args, settings: run(lambda: list_deliveries(args)))


async def list_channels(args: argparse.Namespace) -> int:
    async with make_api() as api:
        data = await api.execute(LIST)
    wanted = getattr(args, "project", None)
    projects = [p for p in data.get("projects") or [] if wanted is None or wanted in (p["name"], p["id"])]
    if wanted is not None and not projects:
        raise InputProblem(f"--project: no project {wanted!r} that this credential may see")
    rows = [{**channel, "project": project["name"]}
            for project in projects for channel in project.get("notificationChannels") or []]
    if args.json:
        print_json(rows)
        return EXIT_OK
    if not rows:
        say("no notification channels")
        return EXIT_OK
    say(table(["ID", "PROJECT", "NAME", "KIND", "EVENTS", "CREATED"], [
        [row["id"], row["project"], row["name"], row["kind"].lower(), ", ".join(row["events"]),
         short_time(row["createdAt"])]
        for row in rows
    ]))
    return EXIT_OK


def channel_url(variable: str) -> str:
    url = os.environ.get(variable, "").strip()
    if not url:
        raise UsageProblem(f"--url-env: environment variable {variable} is not set or empty")
    return url


def _channel(payload: dict[str, Any]) -> dict[str, Any]:
    raise_for_user_errors(payload.get("errors") or [], FLAGS)
    channel = payload.get("channel")
    assert isinstance(channel, dict), "the server answered no channel"
    return channel


def _where(channel: dict[str, Any]) -> str:
    project = (channel.get("project") or {}).get("name", "?")
    return f"{channel['kind'].lower()} channel {channel['name']!r} of project {project} ({channel['id']})"


async def create_channel(args: argparse.Namespace) -> int:
    url = channel_url(args.url_env)
    async with make_api() as api:
        projects = await inventory(api)
        project = next((p for p in projects if args.project in (p["name"], p["id"])), None)
        if project is None:
            raise InputProblem(f"--project: no project {args.project!r} that this credential may see")
        data = await api.execute(CREATE, {"input": {
            "projectId": project["id"], "name": args.name, "kind": args.kind.upper(), "url": url,
            "events": args.event or ["deployment.*"],
        }})
    payload = data.get("createNotificationChannel") or {}
    channel = _channel(payload)
    if args.json:
        print_json({**channel, "secret": payload.get("secret")})
        return EXIT_OK
    say(f"created {_where(channel)}: {', '.join(channel['events'])}")
    if payload.get("secret"):
        say(f"signing secret: {payload['secret']}")
        say("The secret is shown only now and will not be shown again: requests carry "
            "X-Berth-Signature-256: sha256=<HMAC-SHA256 of the body with it>.")
    return EXIT_OK


async def delete_channel(args: argparse.Namespace) -> int:
    async with make_api() as api:
        data = await api.execute(DELETE, {"id": args.channel})
    channel = _channel(data.get("deleteNotificationChannel") or {})
    say(f"deleted {_where(channel)}")
    return EXIT_OK


async def test_channel(args: argparse.Namespace) -> int:
    async with make_api() as api:
        data = await api.execute(TEST, {"id": args.channel})
    channel = _channel(data.get("testNotificationChannel") or {})
    say(f"queued a notification.test event to {_where(channel)}; "
        f"`berth notifications deliveries {channel['id']}` shows what became of it")
    return EXIT_OK


async def list_deliveries(args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= MAX_LIMIT:
        raise UsageProblem(f"--limit: must be between 1 and {MAX_LIMIT}, got {args.limit}")
    async with make_api() as api:
        data = await api.execute(DELIVERIES, {"id": args.channel, "first": args.limit})
    node = data.get("node")
    if not node or "deliveries" not in node:
        raise InputProblem(f"CHANNEL: no notification channel with id {args.channel!r} that this credential may see")
    records = [edge["node"] for edge in (node["deliveries"] or {}).get("edges") or []]
    if args.json:
        print_json(records)
        return EXIT_OK
    if not records:
        say("no deliveries yet")
        return EXIT_OK
    say(table(["CREATED", "EVENT", "STATUS", "ATTEMPTS", "ANSWER", "DEPLOYMENT", "LAST ERROR"], [
        [short_time(r["createdAt"]), r["event"], r["status"].lower(), str(r["attempts"]),
         str(r["responseStatus"] or "-"), f"#{r['deployment']['number']}" if r.get("deployment") else "-",
         (r["lastError"] or "")[:60]]
        for r in records
    ]))
    return EXIT_OK
