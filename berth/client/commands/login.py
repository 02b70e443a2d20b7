"""`berth login`: check a credential against a server and remember both, owner-readable only."""

from __future__ import annotations

import argparse
import getpass
import sys
from dataclasses import replace

from berth.client import config, queries
from berth.client.api import Api
from berth.client.commands.common import AddParser
from berth.client.errors import EXIT_OK, AuthProblem, UsageProblem
from berth.client.runtime import run, say


def register(add: AddParser) -> None:
    parser = add(
        "login",
        help="save the server URL and an API token for the client commands",
        description="Reads the token from stdin (or asks for it at a terminal), checks it against the server "
        "and writes both to $BERTH_CONFIG or ~/.config/berth/config.json with mode 0600. "
        "BERTH_URL and BERTH_TOKEN, when set, take precedence over the file.",
    )
    parser.add_argument(
        "--url", help=f"server URL (default: BERTH_URL, the saved one, or {config.DEFAULT_URL})"
    )
    parser.add_argument(
        "--with-token", action="store_true", help="read the token from stdin even at a terminal"
    )
    parser.set_defaults(handler=lambda args, settings: run(lambda: login(args)))


def read_token(args: argparse.Namespace) -> str:
    if sys.stdin.isatty() and not args.with_token:
        token = getpass.getpass("API token: ")
    else:
        token = sys.stdin.readline()
    token = token.strip()
    if not token:
        raise UsageProblem("no token given (pipe it on stdin or type it when asked)")
    return token


async def login(args: argparse.Namespace) -> int:
    current = config.load()
    url = config.normalize_url(args.url, "--url") if args.url else current.url
    token = read_token(args)
    async with Api(replace(current, url=url, token=token)) as api:
        data = await api.execute(queries.VIEWER)
    viewer = data.get("viewer")
    if not isinstance(viewer, dict):
        raise AuthProblem(f"{url} did not accept the token")
    path = config.save(url, token)
    role = viewer.get("role") or "-"
    say(
        f"logged in to {url} as {viewer['subject']} (role {role}; scopes: {' '.join(viewer.get('scopes') or []) or 'none'})"
    )
    say(f"saved to {path} (mode 0600)")
    return EXIT_OK
