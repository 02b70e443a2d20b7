"""The MCP server (the SDK's low-level `Server`): tools and resources over an executor.

The executor comes from the request context (`executor_of`): over stdio one HTTP
client for the process's credential, over `/mcp` one in-process executor per request
with that request's principal. The tool list is asked of the API each time
(`viewer.scopes`), so it always matches the credential.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, INVALID_REQUEST

from berth import __version__
from berth.mcp import resources, tools
from berth.mcp.executor import Executor, ExecutorFailure
from berth.mcp.outcomes import with_json

# JSON-RPC code the MCP specification gives an unknown resource.
RESOURCE_NOT_FOUND = -32002

INSTRUCTIONS = (
    "Berth deploys services to Docker hosts. Find ids with list_services / list_deployments. "
    "Tools that change something do nothing without confirm: true and then say what they would do: "
    "plan first, then confirm. Pass an idempotencyKey to start_deployment and rollback_deployment so "
    "that a retry returns the same deployment. Errors carry the API's codes in structuredContent.errors."
)

ExecutorOf = Callable[[ServerRequestContext[Any, Any]], Executor]


def _tool(spec: tools.ToolSpec) -> types.Tool:
    return types.Tool(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        input_schema=spec.input_schema(),
        output_schema=spec.output_schema(),
        annotations=types.ToolAnnotations(
            title=spec.title, read_only_hint=spec.read_only, destructive_hint=spec.destructive,
            idempotent_hint=spec.idempotent, open_world_hint=False,
        ),
    )


def _refusal(failure: ExecutorFailure) -> MCPError:
    return MCPError(INVALID_REQUEST, f"{failure.code}: {failure.message}", {"code": failure.code})


def build_server(executor_of: ExecutorOf) -> Server[Any]:
    async def list_tools(ctx: ServerRequestContext[Any, Any],
                         params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        try:
            scopes = await tools.viewer_scopes(executor_of(ctx))
        except ExecutorFailure as failure:
            raise _refusal(failure) from None
        return types.ListToolsResult(tools=[_tool(spec) for spec in tools.offered(scopes)])

    async def call_tool(ctx: ServerRequestContext[Any, Any],
                        params: types.CallToolRequestParams) -> types.CallToolResult:
        outcome = await tools.call(executor_of(ctx), params.name, params.arguments)
        structured = outcome.content()
        return types.CallToolResult(
            content=[types.TextContent(text=with_json(outcome.summary, structured))],
            structured_content=structured,
            is_error=outcome.is_error,
        )

    async def list_templates(ctx: ServerRequestContext[Any, Any],
                             params: types.PaginatedRequestParams | None) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(resource_templates=[
            types.ResourceTemplate(name="deployment", uri_template=resources.RECORD_TEMPLATE,
                                   title="Deployment record",
                                   description="The deployment's whole record as one JSON document",
                                   mime_type="application/json"),
            types.ResourceTemplate(name="deployment-logs", uri_template=resources.LOGS_TEMPLATE,
                                   title="Deployment logs",
                                   description=f"The deployment's log lines as text "
                                               f"(the first {resources.MAX_RESOURCE_LINES})",
                                   mime_type="text/plain"),
        ])

    async def list_resources(ctx: ServerRequestContext[Any, Any],
                             params: types.PaginatedRequestParams | None) -> types.ListResourcesResult:
        try:
            found = await resources.recent(executor_of(ctx))
        except ExecutorFailure as failure:
            raise _refusal(failure) from None
        return types.ListResourcesResult(resources=[
            types.Resource(uri=uri, name=name, mime_type="application/json") for uri, name in found
        ])

    async def read_resource(ctx: ServerRequestContext[Any, Any],
                            params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        try:
            contents = await resources.read(executor_of(ctx), str(params.uri))
        except resources.ResourceProblem as problem:
            code = RESOURCE_NOT_FOUND if problem.code == "NOT_FOUND" else (
                INTERNAL_ERROR if problem.code == "INTERNAL_SERVER_ERROR" else INVALID_REQUEST)
            raise MCPError(code, f"{problem.code}: {problem.message}", {"code": problem.code, "uri": params.uri}) \
                from None
        return types.ReadResourceResult(contents=[
            types.TextResourceContents(uri=contents.uri, mime_type=contents.mime_type, text=contents.text)
        ])

    return Server(
        "berth",
        version=__version__,
        title="Berth",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
    )
