"""The read ceiling: the benchmark's `deployments(first:)` query on a bare Strawberry schema
that answers from memory what Berth answered from the database.

Same names, types and JSON as Berth's schema for the fields the query selects, so the two
servers' answers are compared byte for byte before anything is measured. No database, no
authentication, no loaders, no limits extensions: what Strawberry, Starlette and uvicorn
alone cost for this document.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL


@strawberry.enum(name="DeploymentStatus")
class DeploymentStatus(Enum):
    QUEUED = "QUEUED"
    PREPARE = "PREPARE"
    DEPLOY = "DEPLOY"
    FINALIZE = "FINALIZE"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


@strawberry.enum(name="DeploymentConclusion")
class DeploymentConclusion(Enum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    SKIPPED = "SKIPPED"


@strawberry.enum(name="DeploymentTrigger")
class DeploymentTrigger(Enum):
    USER = "USER"
    WEBHOOK = "WEBHOOK"
    API = "API"
    AGENT = "AGENT"


@strawberry.enum(name="SourceType")
class SourceType(Enum):
    COMPOSE = "COMPOSE"
    DOCKERFILE = "DOCKERFILE"
    IMAGE = "IMAGE"


@strawberry.enum(name="StepKind")
class StepKind(Enum):
    CLONE = "CLONE"
    BUILD = "BUILD"
    PULL = "PULL"
    VOLUME = "VOLUME"
    START = "START"
    HEALTH = "HEALTH"
    FINALIZE = "FINALIZE"


@strawberry.enum(name="StepStatus")
class StepStatus(Enum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    CANCELED = "CANCELED"


@strawberry.enum(name="Role")
class Role(Enum):
    OWNER = "OWNER"
    ADMIN = "ADMIN"
    OPERATOR = "OPERATOR"
    DEVELOPER = "DEVELOPER"
    VIEWER = "VIEWER"
    AGENT = "AGENT"


@strawberry.enum(name="TokenKind")
class TokenKind(Enum):
    JWT = "JWT"
    API_TOKEN = "API_TOKEN"


@strawberry.type(name="Service")
class Service:
    id: strawberry.ID
    name: str
    source_type: SourceType


@strawberry.type(name="Server")
class Server:
    id: strawberry.ID
    name: str


@strawberry.type(name="DeploymentStep")
class DeploymentStep:
    kind: StepKind
    status: StepStatus
    started_at: datetime | None
    completed_at: datetime | None


@strawberry.type(name="Actor")
class Actor:
    subject: str
    email: str | None
    role: Role | None
    token_kind: TokenKind
    token_name: str | None


@strawberry.type(name="Deployment")
class Deployment:
    id: strawberry.ID
    number: int
    status: DeploymentStatus
    conclusion: DeploymentConclusion | None
    trigger: DeploymentTrigger
    created_at: datetime
    started_at: datetime | None
    concluded_at: datetime | None
    service: Service | None
    server: Server | None
    steps: list[DeploymentStep]
    actor: Actor


@strawberry.type(name="PageInfo")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(name="DeploymentConnection")
class DeploymentConnection:
    total_count: int
    page_info: PageInfo
    nodes: list[Deployment]


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _deployment(node: dict[str, Any]) -> Deployment:
    service = node["service"]
    server = node["server"]
    actor = node["actor"]
    return Deployment(
        id=strawberry.ID(node["id"]),
        number=node["number"],
        status=DeploymentStatus(node["status"]),
        conclusion=DeploymentConclusion(node["conclusion"]) if node["conclusion"] else None,
        trigger=DeploymentTrigger(node["trigger"]),
        created_at=datetime.fromisoformat(node["createdAt"]),
        started_at=_when(node["startedAt"]),
        concluded_at=_when(node["concludedAt"]),
        service=Service(id=strawberry.ID(service["id"]), name=service["name"],
                        source_type=SourceType(service["sourceType"])) if service else None,
        server=Server(id=strawberry.ID(server["id"]), name=server["name"]) if server else None,
        steps=[
            DeploymentStep(kind=StepKind(s["kind"]), status=StepStatus(s["status"]),
                           started_at=_when(s["startedAt"]), completed_at=_when(s["completedAt"]))
            for s in node["steps"]
        ],
        actor=Actor(subject=actor["subject"], email=actor["email"],
                    role=Role(actor["role"]) if actor["role"] else None,
                    token_kind=TokenKind(actor["tokenKind"]), token_name=actor["tokenName"]),
    )


def build_ceiling_schema(data: dict[str, Any]) -> strawberry.Schema:
    """`data` is Berth's `deployments` answer; the schema answers it for `first` ≤ its size."""
    connection = data
    nodes = [_deployment(node) for node in connection["nodes"]]
    info = connection["pageInfo"]

    @strawberry.type(name="Query")
    class Query:
        @strawberry.field
        def deployments(self, first: int | None = None) -> DeploymentConnection | None:
            return DeploymentConnection(
                total_count=connection["totalCount"],
                page_info=PageInfo(has_next_page=info["hasNextPage"],
                                   has_previous_page=info.get("hasPreviousPage", False),
                                   start_cursor=info.get("startCursor"), end_cursor=info["endCursor"]),
                nodes=nodes[: first or 20],
            )

    return strawberry.Schema(query=Query)


async def _ready(request: Request) -> Response:
    return JSONResponse({"status": "ready"})


def ceiling_app(data_file: Path) -> Starlette:
    data = json.loads(data_file.read_text())
    view = GraphQL(build_ceiling_schema(data), graphql_ide=None)  # type: ignore[var-annotated]
    return Starlette(routes=[
        Route("/healthz", _ready),
        Route("/readyz", _ready),
        Route("/graphql", view, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", view),
    ])  # fmt: skip
