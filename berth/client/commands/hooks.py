"""`berth hooks`: git hooks (push to deploy) — list, create, and one hook's deliveries."""

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
from berth.client.services import resolve_service
from berth.client.table import table

PROVIDERS = ("github", "gitlab", "gitea")
MAX_LIMIT = 100
HOOK = "id provider repository branch previews allowForkPreviews reportsStatuses statusApiUrl url createdAt"

LIST = f"""
query Hooks {{
  projects {{ name services {{ name environment {{ name }} gitHooks {{ {HOOK} }} }} }}
}}
"""

CREATE = f"""
mutation CreateGitHook($input: CreateGitHookInput!) {{
  createGitHook(input: $input) {{ gitHook {{ {HOOK} }} secret errors {{ code message field }} }}
}}
"""

DELIVERIES = """
query Deliveries($id: ID!, $first: Int) {
  node(id: $id) { ... on GitHook { repository
    deliveries(first: $first) { edges { node {
      id deliveryId event receivedAt outcome reason commitSha deployment { id number } } } } } }
}
"""

FLAGS = {"input.serviceId": "--service", "input.repository": "--repo", "input.branch": "--branch",
         "input.provider": "--provider", "input.statusApiUrl": "--status-api-url",
         "input.statusToken": "--status-token-env"}


def register(add: AddParser) -> None:
    parser = add("hooks", help="git hooks: pushes to a branch deploy the pushed commit",
                 description="Without a subcommand: every hook this credential may see.")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=lambda args, settings: run(lambda: list_hooks(args)))
    sub = parser.add_subparsers(dest="hooks_command")
    create = sub.add_parser("create", help="create a hook; prints its URL and secret (shown once)")
    create.__class__ = parser.__class__
    create.add_argument("--service", required=True, metavar="NAME|ID")
    create.add_argument("--project", help="when several services share the name")
    create.add_argument("--environment", help="when several services share the name")
    create.add_argument("--provider", required=True, choices=PROVIDERS)
    create.add_argument("--repo", required=True, metavar="OWNER/NAME", help="the repository as the provider names it")
    create.add_argument("--branch", help="pushes to this branch deploy (none: pushes deploy nothing)")
    create.add_argument("--previews", action="store_true", help="pull requests get previews")
    create.add_argument("--allow-forks", action="store_true", help="pull requests from forks get previews too")
    create.add_argument("--status-api-url", metavar="URL",
                        help="report commit statuses through this provider API root (GitHub: "
                             "https://api.github.com by default; GitLab https://HOST/api/v4; Gitea https://HOST/api/v1)")
    # The token comes from the environment, never from argv: the process list shows argv.
    create.add_argument("--status-token-env", metavar="VAR",
                        help="report commit statuses with the API token in environment variable VAR")
    create.set_defaults(handler=lambda args, settings: run(lambda: create_hook(args)))
    deliveries = sub.add_parser("deliveries", help="what a hook received, newest first")
    deliveries.__class__ = parser.__class__
    deliveries.add_argument("hook", metavar="HOOK", help="hook id")
    deliveries.add_argument("--limit", type=int, default=20, help=f"how many (1–{MAX_LIMIT}, default 20)")
    deliveries.add_argument("--json", action="store_true", help="print JSON")
    deliveries.set_defaults(handler=lambda args, settings: run(lambda: list_deliveries(args)))


async def list_hooks(args: argparse.Namespace) -> int:
    async with make_api() as api:
        data = await api.execute(LIST)
    rows: list[tuple[str, dict[str, Any]]] = []
    for project in data.get("projects") or []:
        for service in project.get("services") or []:
            place = f"{project['name']}/{(service.get('environment') or {}).get('name', '?')}/{service['name']}"
            rows += [(place, hook) for hook in service.get("gitHooks") or []]
    if args.json:
        print_json([{**hook, "service": place} for place, hook in rows])
        return EXIT_OK
    if not rows:
        say("no git hooks")
        return EXIT_OK
    say(table(["ID", "SERVICE", "PROVIDER", "REPOSITORY", "BRANCH", "PREVIEWS", "URL"], [
        [hook["id"], place, hook["provider"].lower(), hook["repository"], hook["branch"] or "-",
         "yes" if hook["previews"] else "no", hook["url"]]
        for place, hook in rows
    ]))
    return EXIT_OK


def status_token(args: argparse.Namespace) -> str | None:
    """The token named by --status-token-env, read from the environment."""
    if args.status_token_env is None:
        if args.status_api_url is not None:
            raise UsageProblem("--status-api-url needs --status-token-env VAR (the token to send statuses with)")
        return None
    token = os.environ.get(args.status_token_env, "")
    if not token:
        raise UsageProblem(f"--status-token-env: environment variable {args.status_token_env} is not set or empty")
    return token


async def create_hook(args: argparse.Namespace) -> int:
    token = status_token(args)
    async with make_api() as api:
        service = await resolve_service(api, args.service, args.project, args.environment)
        data = await api.execute(CREATE, {"input": {
            "serviceId": service.id, "provider": args.provider.upper(), "repository": args.repo,
            "branch": args.branch, "previews": args.previews, "allowForkPreviews": args.allow_forks,
            "statusApiUrl": args.status_api_url, "statusToken": token,
        }})
    payload = data.get("createGitHook") or {}
    raise_for_user_errors(payload.get("errors") or [], FLAGS)
    hook = payload["gitHook"]
    say(f"hook {hook['id']} for {service.label}: {args.provider} {hook['repository']}"
        + (f", branch {hook['branch']}" if hook["branch"] else ", no branch (pushes deploy nothing)"))
    say(f"URL:    {hook['url']}")
    say(f"secret: {payload['secret']}")
    if hook.get("reportsStatuses"):
        say(f"commit statuses: reported through {hook['statusApiUrl']}")
    say("The secret is shown only now and will not be shown again: paste it into the provider's webhook "
        "settings (content type application/json).")
    return EXIT_OK


async def list_deliveries(args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= MAX_LIMIT:
        raise UsageProblem(f"--limit: must be between 1 and {MAX_LIMIT}, got {args.limit}")
    async with make_api() as api:
        data = await api.execute(DELIVERIES, {"id": args.hook, "first": args.limit})
    node = data.get("node")
    if not node or "deliveries" not in node:
        raise InputProblem(f"HOOK: no git hook with id {args.hook!r} that this credential may see")
    records = [edge["node"] for edge in (node["deliveries"] or {}).get("edges") or []]
    if args.json:
        print_json(records)
        return EXIT_OK
    if not records:
        say("no deliveries yet")
        return EXIT_OK
    say(table(["RECEIVED", "EVENT", "OUTCOME", "COMMIT", "DEPLOYMENT", "REASON"], [
        [short_time(r["receivedAt"]), r["event"], r["outcome"], (r["commitSha"] or "-")[:12],
         f"#{r['deployment']['number']}" if r.get("deployment") else "-", r["reason"] or ""]
        for r in records
    ]))
    return EXIT_OK
