"""Git hooks and their ledger as the schema shows them (a building block, like deployment_pages)."""

from __future__ import annotations

import strawberry

from berth.domain.errors import UserFacingError
from berth.domain.git_hooks import hook_url, hooks_of_service, list_deliveries
from berth.domain.previews import addresses_of, previews_of_service
from berth.models.enums import PreviewStatus
from berth.models.git import GitHook as GitHookRow
from berth.models.git import PreviewEnvironment as PreviewRow
from berth.schema.errors import CodedError
from berth.schema.types.common import PageInfo
from berth.schema.types.git import (
    GitHook,
    PreviewEnvironment,
    WebhookDelivery,
    WebhookDeliveryConnection,
    WebhookDeliveryEdge,
)


def url_of(info: strawberry.Info, row: GitHookRow) -> str:
    """Built on BERTH_PUBLIC_URL (or the address `berth serve` listens on); an app made
    without either answers with the address the request came to."""
    request = info.context.request
    settings = getattr(request.app.state, "settings", None)
    public_url = getattr(settings, "public_url", None) or str(request.base_url)
    return hook_url(public_url, row)


async def resolve_service_hooks(service_id: int) -> list[GitHook]:
    return [GitHook.of(row) for row in await hooks_of_service(service_id)]


async def resolve_deliveries(hook_id: int, first: int | None, after: str | None) -> WebhookDeliveryConnection:
    try:
        page = await list_deliveries(hook_id, first, after)
    except UserFacingError as error:
        raise CodedError(error.message, "BAD_USER_INPUT", field=error.field) from None
    return WebhookDeliveryConnection(
        edges=[
            WebhookDeliveryEdge(cursor=cursor, node=WebhookDelivery.of(row))
            for cursor, row in zip(page.cursors, page.nodes, strict=True)
        ],
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.start_cursor,
            end_cursor=page.end_cursor,
        ),
        total_count=page.total_count,
    )


async def resolve_service_previews(service_id: int, status: PreviewStatus | None) -> list[PreviewEnvironment]:
    return [PreviewEnvironment.of(row) for row in await previews_of_service(service_id, status)]


async def preview_addresses(row: PreviewRow) -> list[str]:
    return await addresses_of(row)
