"""`berth mcp`: the MCP server over stdin/stdout, a client of the server's GraphQL API.

It holds the CLI's credential (BERTH_URL / BERTH_TOKEN, or what `berth login` stored) and
executes every tool's operation over HTTP, exactly as the CLI would: the server decides.
"""

from __future__ import annotations

from typing import Any

from mcp.server.stdio import stdio_server

from berth.client.api import Api
from berth.client.errors import AuthProblem, ClientError
from berth.mcp.executor import Executor, ExecutorFailure
from berth.mcp.server import build_server


def http_executor(api: Api) -> Executor:
    async def execute(document: str, variables: dict[str, Any]) -> dict[str, Any]:
        try:
            body, _status = await api.execute_raw(document, variables)
        except AuthProblem as error:
            raise ExecutorFailure("UNAUTHENTICATED", error.message) from None
        except ClientError as error:
            raise ExecutorFailure("SERVER_UNAVAILABLE", error.message) from None
        return body

    return execute


async def serve_stdio(api: Api) -> None:
    executor = http_executor(api)
    server = build_server(lambda ctx: executor)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())
