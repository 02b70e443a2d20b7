"""Git hooks and the ledger of webhook deliveries (contract v2, git.graphql)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from berth.models.enums import GitProvider, PreviewStatus, WebhookOutcome
from berth.models.git import GitHook as GitHookRow
from berth.models.git import PreviewEnvironment as PreviewRow
from berth.models.git import WebhookDelivery as WebhookDeliveryRow
from berth.schema.directives import requires
from berth.schema.ids import to_global_id
from berth.schema.types.common import PageInfo, UserError
from berth.schema.types.node import Node

if TYPE_CHECKING:
    from berth.schema.types.deployment import Deployment, DeploymentConnection
    from berth.schema.types.inventory import Service

DeploymentT = Annotated["Deployment", strawberry.lazy("berth.schema.types.deployment")]
DeploymentConnectionT = Annotated["DeploymentConnection", strawberry.lazy("berth.schema.types.deployment")]
ServiceT = Annotated["Service", strawberry.lazy("berth.schema.types.inventory")]

strawberry.enum(GitProvider)
strawberry.enum(WebhookOutcome)
strawberry.enum(PreviewStatus)


@strawberry.type(
    name="GitHook",
    directives=requires("service:read"),
    description="A service following its repository: pushes to `branch` deploy the pushed commit; "
    "pull requests get previews.",
)
class GitHook(Node):
    provider: GitProvider
    repository: str = strawberry.field(
        description="owner/name as the provider names it; deliveries naming another repository are refused."
    )
    branch: str | None = strawberry.field(description="Pushes to this branch deploy; null: pushes deploy nothing.")
    previews: bool
    allow_fork_previews: bool = strawberry.field(
        description="Pull requests from forks get previews only when this is true."
    )
    created_at: datetime
    reports_statuses: bool = strawberry.field(
        description="Whether deployments this hook starts report commit statuses (pending, then "
        "success/failure/error) to the provider. The token is never shown."
    )
    status_api_url: str | None = strawberry.field(
        description="The provider API root statuses are sent to; null when the hook reports none."
    )
    row: strawberry.Private[GitHookRow]

    @classmethod
    def of(cls, row: GitHookRow) -> GitHook:
        return cls(
            id=strawberry.ID(to_global_id("GitHook", row.pk)),
            provider=row.provider,
            repository=row.repository,
            branch=row.branch,
            previews=row.previews,
            allow_fork_previews=row.allow_fork_previews,
            created_at=row.created_at,
            reports_statuses=bool(row.status_token_enc),
            status_api_url=row.status_api_url if row.status_token_enc else None,
            row=row,
        )

    @strawberry.field
    async def service(self, info: strawberry.Info) -> ServiceT | None:
        from berth.schema.types.inventory import Service

        row = await info.context.loaders.service.load(self.row.service_id)
        return Service.of(row) if row else None

    @strawberry.field(description="Where the provider POSTs its events (absolute, built from BERTH_PUBLIC_URL).")
    def url(self, info: strawberry.Info) -> str:
        from berth.schema.git_pages import url_of

        return url_of(info, self.row)

    @strawberry.field
    async def deliveries(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> WebhookDeliveryConnection | None:
        from berth.schema.git_pages import resolve_deliveries

        return await resolve_deliveries(self.row.pk, first, after)


@strawberry.type(
    name="WebhookDelivery",
    directives=requires("service:read"),
    description="One event a provider sent, whatever became of it.",
)
class WebhookDelivery(Node):
    delivery_id: str | None = strawberry.field(
        description="The provider's id for the delivery (X-GitHub-Delivery, X-Gitlab-Event-UUID, X-Gitea-Delivery)."
    )
    event: str = strawberry.field(
        description="The provider's event name: push, pull_request, Push Hook, Merge Request Hook, ping …"
    )
    received_at: datetime
    outcome: WebhookOutcome
    reason: str | None = strawberry.field(
        description='In words, why nothing was deployed: e.g. "branch feature/x is not main", '
        '"signature does not match".'
    )
    commit_sha: str | None
    row: strawberry.Private[WebhookDeliveryRow]

    @classmethod
    def of(cls, row: WebhookDeliveryRow) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(to_global_id("WebhookDelivery", row.pk)),
            delivery_id=row.delivery_id,
            event=row.event,
            received_at=row.received_at,
            outcome=row.outcome,
            reason=row.reason,
            commit_sha=row.commit_sha,
            row=row,
        )

    @strawberry.field
    async def deployment(self, info: strawberry.Info) -> DeploymentT | None:
        from berth.schema.types.deployment import Deployment

        pk = self.row.deployment_id
        if pk is None:
            return None
        row = await info.context.loaders.deployment.load(pk)
        return Deployment.of(row) if row else None


@strawberry.type(name="WebhookDeliveryEdge")
class WebhookDeliveryEdge:
    cursor: str
    node: WebhookDelivery


@strawberry.type(name="WebhookDeliveryConnection")
class WebhookDeliveryConnection:
    edges: list[WebhookDeliveryEdge]
    page_info: PageInfo
    total_count: int | None


@strawberry.input(name="CreateGitHookInput")
class CreateGitHookInput:
    service_id: strawberry.ID
    provider: GitProvider
    repository: str
    branch: str | None = None
    previews: bool | None = None
    allow_fork_previews: bool | None = None
    status_api_url: str | None = strawberry.field(
        default=None,
        description="Report commit statuses through this provider API root (absolute http(s), no "
        "credentials): GitHub defaults to https://api.github.com; GitLab (https://HOST/api/v4) and "
        "Gitea (https://HOST/api/v1) need it. Requires statusToken.",
    )
    status_token: str | None = strawberry.field(
        default=None,
        description="A provider API token allowed to set commit statuses; stored encrypted, never shown. "
        "Without it the hook reports no statuses.",
    )


@strawberry.type(name="CreateGitHookPayload")
class CreateGitHookPayload:
    errors: list[UserError]
    git_hook: GitHook | None = None
    secret: str | None = strawberry.field(
        default=None, description="The signing secret to give the provider, shown only in this response."
    )


@strawberry.type(name="DeleteGitHookPayload")
class DeleteGitHookPayload:
    errors: list[UserError]
    git_hook: GitHook | None = None


@strawberry.type(name="RedeliverWebhookPayload")
class RedeliverWebhookPayload:
    errors: list[UserError]
    delivery: WebhookDelivery | None = None


@strawberry.type(
    name="PreviewEnvironment",
    directives=requires("service:read"),
    description="The preview of one pull request: its own containers, volumes and networks beside the service's.",
)
class PreviewEnvironment(Node):
    pull_request: int
    title: str | None
    head_ref: str
    head_sha: str
    base_ref: str
    author: str | None
    fork: bool
    status: PreviewStatus
    created_at: datetime
    updated_at: datetime = strawberry.field(
        description="The last pull-request event that deployed it; BERTH_PREVIEW_TTL_HOURS counts from here."
    )
    closed_at: datetime | None
    cleaned_at: datetime | None
    row: strawberry.Private[PreviewRow]

    @classmethod
    def of(cls, row: PreviewRow) -> PreviewEnvironment:
        return cls(
            id=strawberry.ID(to_global_id("PreviewEnvironment", row.pk)),
            pull_request=row.pull_request,
            title=row.title,
            head_ref=row.head_ref,
            head_sha=row.head_sha,
            base_ref=row.base_ref,
            author=row.author,
            fork=row.fork,
            status=row.status,
            created_at=row.created_at,
            updated_at=row.updated_at,
            closed_at=row.closed_at,
            cleaned_at=row.cleaned_at,
            row=row,
        )

    @strawberry.field
    async def service(self, info: strawberry.Info) -> ServiceT | None:
        from berth.schema.types.inventory import Service

        row = await info.context.loaders.service.load(self.row.service_id)
        return Service.of(row) if row else None

    @strawberry.field(
        description="Where it answers, as its newest successful deployment recorded it: first, for a "
        "service with a route, its URL through the server's proxy (http://pr-N.HOST[PREFIX]), then its "
        "published ports on ephemeral ports of the server's loopback address "
        "(127.0.0.1:PORT->CONTAINER_PORT/PROTOCOL); empty when it has neither or is not running."
    )
    async def addresses(self) -> list[str]:
        from berth.schema.git_pages import preview_addresses

        return await preview_addresses(self.row)

    @strawberry.field(directives=requires("deploy:read"))
    async def deployments(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> DeploymentConnectionT | None:
        from berth.schema.deployment_pages import resolve_deployments

        return await resolve_deployments(  # type: ignore[return-value]
            info, first, after, None, None, None, service_id=self.row.service_id, preview_id=self.row.pk
        )


@strawberry.type(name="ClosePreviewPayload")
class ClosePreviewPayload:
    errors: list[UserError]
    preview: PreviewEnvironment | None = None
