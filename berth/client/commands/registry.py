"""`berth registry`: a project's registry credentials — add (the password from stdin), list."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from berth.client.commands.common import AddParser
from berth.client.errors import EXIT_OK, InputProblem, UsageProblem
from berth.client.format import short_time
from berth.client.graphql_errors import raise_for_user_errors
from berth.client.runtime import api as make_api
from berth.client.runtime import print_json, run, say
from berth.client.services import inventory
from berth.client.table import table

CREDENTIAL = "id registry username createdAt lastUsedAt"
LIST = f"query Registries {{ projects {{ id name registryCredentials {{ {CREDENTIAL} }} }} }}"
CREATE = f"""
mutation CreateRegistryCredential($input: CreateRegistryCredentialInput!) {{
  createRegistryCredential(input: $input) {{ registryCredential {{ {CREDENTIAL} }} errors {{ code message field }} }}
}}
"""
FLAGS = {"input.projectId": "--project", "input.registry": "REGISTRY", "input.username": "--username",
         "input.password": "--password-stdin"}


def register(add: AddParser) -> None:
    parser = add("registry", help="registry credentials of a project (private images)",
                 description="Without a subcommand: every project's registry credentials (never the passwords).")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=lambda args, settings: run(lambda: list_credentials(args)))
    sub = parser.add_subparsers(dest="registry_command")
    add_cmd = sub.add_parser("add", help="add credentials for one registry; the password is read from stdin")
    add_cmd.__class__ = parser.__class__
    add_cmd.add_argument("registry", metavar="REGISTRY", help="host[:port] as image references name it")
    add_cmd.add_argument("--username", required=True)
    # Never a --password flag: the process list shows argv.
    add_cmd.add_argument("--password-stdin", action="store_true", required=True,
                         help="read the password (or token) from stdin")
    add_cmd.add_argument("--project", required=True, help="project name or id")
    add_cmd.add_argument("--json", action="store_true", help="print JSON")
    add_cmd.set_defaults(handler=lambda args, settings: run(lambda: add_credential(args)))
    list_cmd = sub.add_parser("list", help="every project's registry credentials")
    list_cmd.__class__ = parser.__class__
    list_cmd.add_argument("--json", action="store_true", help="print JSON")
    list_cmd.set_defaults(handler=lambda args, settings: run(lambda: list_credentials(args)))


def read_password() -> str:
    password = sys.stdin.read().rstrip("\r\n")
    if not password:
        raise UsageProblem("--password-stdin: stdin held no password")
    return password


async def add_credential(args: argparse.Namespace) -> int:
    password = read_password()
    async with make_api() as api:
        projects = await inventory(api)
        project = next((p for p in projects if args.project in (p["name"], p["id"])), None)
        if project is None:
            raise InputProblem(f"--project: no project {args.project!r} that this credential may see")
        data = await api.execute(CREATE, {"input": {"projectId": project["id"], "registry": args.registry,
                                                    "username": args.username, "password": password}})
    payload = data.get("createRegistryCredential") or {}
    raise_for_user_errors(payload.get("errors") or [], FLAGS)
    credential = payload["registryCredential"]
    if args.json:
        print_json(credential)
    else:
        say(f"registry credentials {credential['id']} for {credential['registry']} in project {project['name']} "
            f"(user {credential['username']})")
    return EXIT_OK


async def list_credentials(args: argparse.Namespace) -> int:
    async with make_api() as api:
        data = await api.execute(LIST)
    rows: list[dict[str, Any]] = [
        {**credential, "project": project["name"]}
        for project in data.get("projects") or [] for credential in project.get("registryCredentials") or []
    ]
    if args.json:
        print_json(rows)
        return EXIT_OK
    if not rows:
        say("no registry credentials")
        return EXIT_OK
    say(table(["ID", "PROJECT", "REGISTRY", "USERNAME", "CREATED", "LAST USED"], [
        [row["id"], row["project"], row["registry"], row["username"], short_time(row["createdAt"]),
         short_time(row["lastUsedAt"]) if row["lastUsedAt"] else "never"]
        for row in rows
    ]))
    return EXIT_OK
