"""`deployments` connections, top level and per service: a page from the domain, the
selected edges prefetched into the request's loaders."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any

import strawberry
from strawberry.types.nodes import SelectedField

from berth.domain.errors import UserFacingError
from berth.domain.queries import list_deployments
from berth.domain.specs import DeploymentFilterSpec
from berth.models import Deployment as DeploymentRow
from berth.schema.errors import CodedError
from berth.schema.ids import decode
from berth.schema.plain import plain
from berth.schema.types.common import PageInfo
from berth.schema.types.deployment import Deployment, DeploymentConnection, DeploymentEdge, DeploymentFilter


def _filter_spec(raw: DeploymentFilter | None, service_id: int | None,
                 preview_id: int | None = None) -> DeploymentFilterSpec:
    def pk(value: Any, type_name: str, name: str) -> int | None:
        return decode(value, type_name, ["filter", name]) if value else None

    return DeploymentFilterSpec(
        project_id=pk(raw.project_id, "Project", "projectId") if raw else None,
        service_id=service_id
        if service_id is not None
        else (pk(raw.service_id, "Service", "serviceId") if raw else None),
        environment_id=pk(raw.environment_id, "Environment", "environmentId") if raw else None,
        server_id=pk(raw.server_id, "Server", "serverId") if raw else None,
        status=[str(s.value) if hasattr(s, "value") else str(s) for s in raw.status]
        if raw and raw.status
        else None,
        conclusion=[str(c.value) if hasattr(c, "value") else str(c) for c in raw.conclusion]
        if raw and raw.conclusion
        else None,
        trigger=[str(t.value) if hasattr(t, "value") else str(t) for t in raw.trigger]
        if raw and raw.trigger
        else None,
        created_after=raw.created_after if raw else None,
        created_before=raw.created_before if raw else None,
        preview_id=preview_id,
    )


def _selects(info: strawberry.Info, name: str) -> bool:
    """Whether the connection's own selection asks for `name` (through fragments too)."""
    return any(field.name == name for connection in info.selected_fields
               for field in _flatten(connection.selections))


def _flatten(selections: Iterable[Any]) -> list[SelectedField]:
    """The fields of a selection, through fragment spreads and inline fragments."""
    fields: list[SelectedField] = []
    for selection in selections:
        if isinstance(selection, SelectedField):
            fields.append(selection)
        else:
            fields.extend(_flatten(selection.selections))
    return fields


def node_fields(info: strawberry.Info) -> set[str]:
    """Names of the fields selected on the connection's deployments (`nodes`, `edges.node`)."""
    names: set[str] = set()
    for connection in info.selected_fields:
        for field in _flatten(connection.selections):
            if field.name == "nodes":
                names.update(f.name for f in _flatten(field.selections))
            elif field.name == "edges":
                for edge_field in _flatten(field.selections):
                    if edge_field.name == "node":
                        names.update(f.name for f in _flatten(edge_field.selections))
    return names


def _selected_anywhere(info: strawberry.Info, names: frozenset[str]) -> bool:
    """Whether any field of these names is selected anywhere under this field, at any depth."""

    def found(selections: Iterable[Any]) -> bool:
        return any(field.name in names or found(field.selections) for field in _flatten(selections))

    return any(found(field.selections) for field in info.selected_fields)


# What a deployment's big JSON columns serve; a page selecting none of these fields
# (at any depth: a nested deployment may come from the page through the loaders) reads
# the other columns only.
_RECORD_FIELDS = frozenset({"input", "configSnapshot", "declaredConfig", "frozenInput", "artifact"})
_RECORD_COLUMNS = frozenset({"input", "config_snapshot", "declared_config", "frozen_input", "frozen_secrets_enc"})


def list_columns() -> list[str]:
    """Every column of a deployment but the record's JSON (known once Tortoise is set up)."""
    return [name for name in DeploymentRow._meta.fields_db_projection if name not in _RECORD_COLUMNS]


# Deployment edges a page loads up front (one batched query each, as their loaders would):
# their fields then resolve without awaiting, row after row.
_PREFETCHED = ("service", "server", "project", "environment", "steps")


async def prefetch_edges(info: strawberry.Info, rows: list[DeploymentRow]) -> None:
    """Load the selected edges of a page of deployments into the request's loaders, only
    those the caller may resolve (a refused edge reads nothing, as before)."""
    if not rows:
        return
    selected = node_fields(info)
    scopes = getattr(info.schema, "field_scopes", {})
    context = info.context
    loaders = context.loaders
    pending: list[Awaitable[Any]] = []
    for name in _PREFETCHED:
        if name not in selected:
            continue
        required = scopes.get(("Deployment", name))
        if required and context.denial(required) is not None:
            continue
        if name == "steps":
            keys: list[Any] = [row.pk for row in rows]
        else:
            keys = list(dict.fromkeys(getattr(row, f"{name}_id") for row in rows))
        pending.append(getattr(loaders, name).load_many(keys))
    if pending:
        # A failed load stays in its loader: each field then fails as it would have alone.
        await asyncio.gather(*pending, return_exceptions=True)


async def resolve_deployments(
    info: strawberry.Info,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    filter: DeploymentFilter | None,
    service_id: int | None = None,
    preview_id: int | None = None,
) -> DeploymentConnection | None:
    # The scope guard already refused anonymous callers.
    principal = info.context.require_principal()
    try:
        spec = _filter_spec(filter, service_id, preview_id)
        page = await list_deployments(
            principal, spec, first=first, after=after, last=last, before=before,
            with_total=_selects(info, "totalCount"),
            columns=None if _selected_anywhere(info, _RECORD_FIELDS) else list_columns(),
        )
    except UserFacingError as error:
        # Arguments of a query field: a field error with the offending argument named.
        raise CodedError(error.message, "BAD_USER_INPUT", field=error.field) from None
    if not any(row._partial for row in page.nodes):
        # Partial rows are this page's own: a deployment loaded elsewhere is read whole.
        info.context.loaders.prime(page.nodes)
    await prefetch_edges(info, page.nodes)
    nodes = [Deployment.of(row) for row in page.nodes]
    # Rows and their prefetched edges are in memory: completed in one pass (berth.schema.plain).
    return plain(DeploymentConnection(
        edges=[
            DeploymentEdge(cursor=cursor, node=node) for cursor, node in zip(page.cursors, nodes, strict=True)
        ],
        nodes=nodes,
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.start_cursor,
            end_cursor=page.end_cursor,
        ),
        total_count=page.total_count or 0,
    ))
