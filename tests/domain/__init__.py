"""Domain-layer tests, and the small builders they share (through the domain API, as the app does)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tortoise import connections

from berth.auth.principal import Principal, make_principal
from berth.auth.scopes import ALL_SCOPES
from berth.domain.inventory import create_project, create_server, create_service
from berth.domain.specs import EnvVarSpec, ProjectSpec, ServerSpec, ServiceSpec, SourceSpec
from berth.models import Deployment, Project, Server, Service
from berth.models.enums import DeploymentConclusion, DeploymentStatus, Role, SourceType, TokenKind
from berth.models.lifecycle import apply_change
from tests.support.names import unique

S = DeploymentStatus
TABLES = (
    "server", "project", "environment", "service", "deployment", "deployment_step",
    "deployment_event", "log_line", "idempotency_key", "observation",
)


def owner(project_ids: Iterable[int] = (), token_id: int = 1, role: Role = Role.OWNER,
          token_kind: TokenKind = TokenKind.API_TOKEN) -> Principal:
    return make_principal(
        subject=f"token-{token_id}",
        email="owner@example.test",
        role=role,
        token_kind=token_kind,
        credential_scopes=ALL_SCOPES,
        project_ids=project_ids,
        token_name=f"token {token_id}",
        token_id=token_id,
        issuer="https://issuer.example.test" if token_kind is TokenKind.JWT else None,
    )


async def row_counts() -> dict[str, int]:
    conn = connections.get("default")
    counts: dict[str, int] = {}
    for table in TABLES:
        rows = await conn.execute_query_dict(f"SELECT COUNT(*) AS n FROM {table}")
        counts[table] = int(rows[0]["n"])
    return counts


async def raw_rows(table: str) -> str:
    """Every stored value of a table as text, to look for plaintext secrets in."""
    rows = await connections.get("default").execute_query_dict(f"SELECT * FROM {table}")
    return repr(rows)


async def server(**fields: Any) -> Server:
    values: dict[str, Any] = {"name": unique("srv"), "docker_host": "unix:///var/run/docker.sock"}
    values.update(fields)
    return await create_server(owner(), ServerSpec(**values))


async def project(**fields: Any) -> Project:
    values: dict[str, Any] = {"name": unique("proj")}
    values.update(fields)
    return await create_project(owner(), ProjectSpec(**values))


async def image_service(
    target: Server | None = None,
    in_project: Project | None = None,
    image: str = "registry.example.test:5000/team/app:v1",
    env: list[EnvVarSpec] | None = None,
    **source: Any,
) -> Service:
    target = target or await server()
    in_project = in_project or await project()
    return await create_service(
        owner(),
        ServiceSpec(
            project_id=in_project.id,
            environment="production",
            name=unique("svc"),
            server_id=target.id,
            source=SourceSpec(type=SourceType.IMAGE, image=image, **source),
            env=env,
        ),
    )


async def run_to(deployment_id: int, status: DeploymentStatus) -> None:
    """Move a QUEUED deployment forward through the lifecycle rules, as a runner would."""
    path = [S.QUEUED, S.PREPARE, S.DEPLOY, S.FINALIZE]
    for source, target in zip(path, path[1:], strict=False):
        await apply_change(deployment_id, from_status=source, to_status=target)
        if target == status:
            return
    raise AssertionError(f"run_to cannot reach {status}")


async def succeed(deployment_id: int, **resolved: Any) -> Deployment:
    """Run a deployment to COMPLETED/SUCCEEDED; `resolved` frozen-input fields are recorded
    on the way, as the runner records a digest or a commit."""
    await run_to(deployment_id, S.FINALIZE)
    updates: dict[str, Any] = {}
    if resolved:
        current = await Deployment.get(id=deployment_id)
        updates["frozen_input"] = {**current.frozen_input, **resolved}
    await apply_change(
        deployment_id,
        from_status=S.FINALIZE,
        to_status=S.COMPLETED,
        conclusion=DeploymentConclusion.SUCCEEDED,
        updates=updates or None,
    )
    return await Deployment.get(id=deployment_id)
