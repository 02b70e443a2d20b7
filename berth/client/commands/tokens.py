"""`berth tokens` (list) and `berth token revoke ID|NAME`: API tokens through the API
(tokens:manage; a credential sees and revokes only tokens of roles at or below its own).

`berth token create` is the server-side bootstrap (berth/cli.py): it writes to the
database directly and works with the server stopped.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from berth.client import queries
from berth.client.api import Api
from berth.client.commands.common import AddParser
from berth.client.errors import EXIT_OK, InputProblem
from berth.client.format import parse_time, short_time
from berth.client.graphql_errors import raise_for_user_errors
from berth.client.runtime import api as make_api
from berth.client.runtime import print_json, run, say
from berth.client.table import table


def register(add: AddParser) -> None:
    parser = add("tokens", help="list API tokens (those of roles at or below yours)")
    parser.add_argument("--json", action="store_true", help="print the tokens as one JSON array")
    parser.set_defaults(handler=lambda args, settings: run(lambda: tokens(args)))


def register_revoke(add: AddParser) -> None:
    """`revoke` under the `berth token` group."""
    parser = add("revoke", help="revoke an API token (through the API); it stops working at once")
    parser.add_argument("token", metavar="ID|NAME", help="token id, or its name when no other token has it")
    parser.add_argument("--json", action="store_true", help="print the revoked token as JSON")
    parser.set_defaults(handler=lambda args, settings: run(lambda: revoke(args)))


def state(token: dict[str, Any]) -> str:
    if token.get("revokedAt"):
        return "revoked"
    expires = parse_time(token.get("expiresAt"))
    if expires is not None and expires <= datetime.now(UTC):
        return "expired"
    return "active"


async def listed(api: Api) -> list[dict[str, Any]]:
    return list((await api.execute(queries.TOKEN_LIST)).get("apiTokens") or [])


async def tokens(args: argparse.Namespace) -> int:
    async with make_api() as api:
        found = await listed(api)
    if args.json:
        print_json(found)
    elif not found:
        say("no API tokens")
    else:
        rows = [
            [str(t["id"]), t["name"], t["prefix"] + "…", t["role"], state(t), " ".join(t["scopes"]),
             short_time(t.get("lastUsedAt")), short_time(t.get("expiresAt"))]
            for t in found
        ]  # fmt: skip
        say(table(["ID", "NAME", "PREFIX", "ROLE", "STATE", "SCOPES", "LAST USED", "EXPIRES"], rows))
    return EXIT_OK


async def resolve_token(api: Api, value: str) -> str:
    found = await listed(api)
    if any(token["id"] == value for token in found):
        return value
    named = [token for token in found if token["name"] == value]
    if len(named) == 1:
        return str(named[0]["id"])
    if len(named) > 1:
        ids = ", ".join(str(token["id"]) for token in named)
        raise InputProblem(f"ID|NAME: {len(named)} tokens are named {value!r} ({ids}); give the id")
    return value  # an id this credential may not see: the server says NOT_FOUND


async def revoke(args: argparse.Namespace) -> int:
    async with make_api() as api:
        token_id = await resolve_token(api, args.token)
        payload = (await api.execute(queries.REVOKE_TOKEN, {"id": token_id}))["revokeApiToken"]
        raise_for_user_errors(payload["errors"], {"id": "ID|NAME"})
    token = payload["apiToken"]
    if args.json:
        print_json(token)
    else:
        say(f"revoked API token {token['name']} ({token['prefix']}…, role {token['role']}, {token['id']})")
    return EXIT_OK
