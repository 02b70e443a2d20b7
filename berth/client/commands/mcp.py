"""`berth mcp`: serve the MCP tools over stdio for an AI agent (docs/mcp.md)."""

from __future__ import annotations

import argparse

from berth.client.commands.common import AddParser
from berth.client.errors import EXIT_OK
from berth.client.runtime import api as make_api
from berth.client.runtime import run


def register(add: AddParser) -> None:
    parser = add(
        "mcp",
        help="serve Berth's MCP tools over stdin/stdout (for an AI agent's MCP client)",
        description="An MCP server on stdio that calls the Berth API at BERTH_URL with BERTH_TOKEN "
        "(or what `berth login` stored): the tools the credential's scopes allow, nothing more.",
    )
    parser.set_defaults(handler=lambda args, settings: run(lambda: mcp(args)))


async def mcp(args: argparse.Namespace) -> int:
    from berth.mcp.stdio import serve_stdio  # the SDK only for this command

    async with make_api() as api:
        await serve_stdio(api)
    return EXIT_OK
