"""`berth environments`: every environment this credential may see with the approvals it
requires, and `berth environments protect PROJECT/ENV --required-approvals N` to change that
(service:write; docs/approvals.md)."""

from __future__ import annotations

import argparse
from typing import Any

from berth.client.commands.common import AddParser
from berth.client.errors import EXIT_OK, InputProblem
from berth.client.graphql_errors import raise_for_user_errors
from berth.client.runtime import api as make_api
from berth.client.runtime import print_json, run, say
from berth.client.table import table

MAX_APPROVALS = 10
LIST = "query Environments { projects { id name environments { id name requiredApprovals } } }"
UPDATE = """
mutation UpdateEnvironment($input: UpdateEnvironmentInput!) {
  updateEnvironment(input: $input) {
    environment { id name requiredApprovals project { id name } }
    errors { code message field }
  }
}
"""
FLAGS = {"input.environmentId": "PROJECT/ENV", "input.requiredApprovals": "--required-approvals"}


def register(add: AddParser) -> None:
    parser = add("environments", help="environments and the approvals their deployments need",
                 description="Without a subcommand: every environment this credential may see.")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=lambda args, settings: run(lambda: list_environments(args)))
    sub = parser.add_subparsers(dest="environments_command")
    protect = sub.add_parser(
        "protect", help="set how many approvals a deployment into an environment needs",
        description="Deployments into it then wait QUEUED until that many principals other than "
        "their starter approve (berth approve); 0 removes the protection. Deployments already "
        "queued keep the number they were queued with.")
    protect.__class__ = parser.__class__  # usage errors exit 3, as the parent's
    protect.add_argument("target", metavar="PROJECT/ENV", help="project and environment names (or the environment id)")
    protect.add_argument("--required-approvals", type=int, required=True, metavar="N",
                         help=f"0 (none needed) to {MAX_APPROVALS}")
    protect.add_argument("--json", action="store_true", help="print the environment as JSON")
    protect.set_defaults(handler=lambda args, settings: run(lambda: protect_environment(args)))


async def list_environments(args: argparse.Namespace) -> int:
    async with make_api() as api:
        rows = _environments(await api.execute(LIST))
    if args.json:
        print_json(rows)
        return EXIT_OK
    if not rows:
        say("no environments")
        return EXIT_OK
    say(table(["ID", "ENVIRONMENT", "REQUIRED APPROVALS"],
              [[row["id"], f"{row['project']}/{row['name']}", str(row["requiredApprovals"])] for row in rows]))
    return EXIT_OK


def _environments(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**environment, "project": project["name"]}
            for project in data.get("projects") or [] for environment in project.get("environments") or []]


async def protect_environment(args: argparse.Namespace) -> int:
    async with make_api() as api:
        environment_id = _environment_id(args.target, _environments(await api.execute(LIST)))
        data = await api.execute(UPDATE, {"input": {"environmentId": environment_id,
                                                    "requiredApprovals": args.required_approvals}})
    payload = data["updateEnvironment"]
    raise_for_user_errors(payload["errors"], FLAGS)
    environment = payload["environment"]
    if args.json:
        print_json(environment)
        return EXIT_OK
    label = f"{environment['project']['name']}/{environment['name']}"
    needed = environment["requiredApprovals"]
    say(f"{label}: deployments need {needed} approval{'s' if needed != 1 else ''}" if needed
        else f"{label}: deployments need no approval")
    return EXIT_OK


def _environment_id(target: str, environments: list[dict[str, Any]]) -> str:
    for environment in environments:
        if target in (environment["id"], f"{environment['project']}/{environment['name']}"):
            return str(environment["id"])
    raise InputProblem(f"PROJECT/ENV: no environment {target!r} that this credential may see "
                       "(berth environments lists them)")
