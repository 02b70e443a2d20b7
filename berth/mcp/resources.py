"""Deployments as MCP resources: `berth://deployments/{id}` (the record as one JSON
document, `Deployment.artifact`) and `berth://deployments/{id}/logs` (its log as text)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from berth.mcp import documents as doc
from berth.mcp.executor import Executor, ExecutorFailure
from berth.mcp.outcomes import name_of, split_errors

RECORD_TEMPLATE = "berth://deployments/{id}"
LOGS_TEMPLATE = "berth://deployments/{id}/logs"
LIST_LIMIT = 20
LOG_PAGE = 100
# A resource is read whole: a longer log is cut here (get_logs pages through all of it).
MAX_RESOURCE_LINES = 5000

_URI = re.compile(r"^berth://deployments/(?P<id>[^/?#]+)(?P<logs>/logs)?$")


class ResourceProblem(Exception):
    """A resource that cannot be read: `code` is the API's (NOT_FOUND for one the
    credential may not see, exactly as for one that does not exist)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Contents:
    uri: str
    mime_type: str
    text: str


def record_uri(deployment_id: str) -> str:
    return f"berth://deployments/{deployment_id}"


async def _data(executor: Executor, document: str, variables: dict[str, Any],
                required: tuple[str, ...] = ()) -> dict[str, Any]:
    body = await executor(document, variables)
    errors, _ = split_errors(body, required)
    if errors:
        raise ResourceProblem(errors[0]["code"], errors[0]["message"])
    data = body.get("data")
    return data if isinstance(data, dict) else {}


async def recent(executor: Executor) -> list[tuple[str, str]]:
    """(uri, name) of the newest deployments the credential may see (none without deploy:read)."""
    try:
        data = await _data(executor, doc.LIST_DEPLOYMENTS, {"first": LIST_LIMIT})
    except ResourceProblem:
        return []
    nodes = (data.get("deployments") or {}).get("nodes") or []
    return [(record_uri(node["id"]), name_of(node)) for node in nodes]


async def read(executor: Executor, uri: str) -> Contents:
    match = _URI.match(uri)
    if match is None:
        raise ResourceProblem("NOT_FOUND", f"no resource {uri!r}: Berth serves {RECORD_TEMPLATE} and {LOGS_TEMPLATE}")
    deployment_id = match["id"]
    try:
        if match["logs"]:
            return Contents(uri, "text/plain", await _log_text(executor, deployment_id))
        data = await _data(executor, doc.ARTIFACT, {"id": deployment_id})
    except ExecutorFailure as failure:
        raise ResourceProblem(failure.code, failure.message) from None
    deployment = data.get("deployment")
    if deployment is None:
        raise ResourceProblem("NOT_FOUND", "deployment not found")
    return Contents(uri, "application/json", json.dumps(deployment["artifact"], indent=2))


async def _log_text(executor: Executor, deployment_id: str) -> str:
    lines: list[str] = []
    after: str | None = None
    while True:
        data = await _data(executor, doc.LOGS_PAGE, {"id": deployment_id, "first": LOG_PAGE, "after": after},
                           required=("deployment.logs",))
        deployment = data.get("deployment")
        if deployment is None:
            raise ResourceProblem("NOT_FOUND", "deployment not found")
        connection = deployment.get("logs") or {"edges": [], "pageInfo": {}}
        lines += [str(edge["node"]["text"]) for edge in connection["edges"]]
        if len(lines) >= MAX_RESOURCE_LINES:
            return "\n".join(lines[:MAX_RESOURCE_LINES]) + (
                f"\n[cut at {MAX_RESOURCE_LINES} lines: read the rest with get_logs afterSeq={MAX_RESOURCE_LINES}]\n")
        if not connection["pageInfo"].get("hasNextPage"):
            return "\n".join(lines) + ("\n" if lines else "")
        after = connection["pageInfo"]["endCursor"]
