"""The deployment record, its steps, logs and the three views."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON

from berth.domain.documents import Document, visible_document
from berth.domain.errors import UserFacingError
from berth.domain.queries import LogLinePage, list_log_lines
from berth.domain.views import artifact as artifact_document
from berth.models import Deployment as DeploymentRow
from berth.models import DeploymentStep as StepRow
from berth.models import LogLine as LogLineRow
from berth.models import Observation as ObservationRow
from berth.schema.directives import requires
from berth.schema.errors import CodedError
from berth.schema.ids import to_global_id
from berth.schema.loaders import resolved
from berth.schema.types.common import (
    DeploymentConclusion,
    DeploymentStatus,
    DeploymentTrigger,
    DriftStatus,
    LogStream,
    PageInfo,
    Role,
    SourceType,
    StepKind,
    StepStatus,
    TokenKind,
)
from berth.schema.types.inventory import Environment, Project, Server, Service
from berth.schema.types.node import Node

if TYPE_CHECKING:
    from berth.schema.types.approvals import DeploymentApproval
    from berth.schema.types.git import PreviewEnvironment

PreviewEnvironmentT = Annotated["PreviewEnvironment", strawberry.lazy("berth.schema.types.git")]
DeploymentApprovalT = Annotated["DeploymentApproval", strawberry.lazy("berth.schema.types.approvals")]


@strawberry.type(name="Actor")
class Actor:
    subject: str
    email: str | None
    role: Role | None
    token_kind: TokenKind
    token_name: str | None

    @classmethod
    def of(cls, data: dict[str, Any]) -> Actor:
        return cls(
            subject=data["subject"],
            email=data.get("email"),
            role=data.get("role"),  # type: ignore[arg-type]
            token_kind=data["tokenKind"],
            token_name=data.get("tokenName"),
        )


@strawberry.type(name="DeploymentInput")
class DeploymentInput:
    source_type: SourceType
    image: str | None = None
    image_tag: str | None = None
    image_digest: str | None = strawberry.field(
        default=None,
        description="Resolved image digest once known (repo@sha256:...); null for a build that was never pushed.",
    )
    image_id: str | None = strawberry.field(
        default=None, description="Local image id (sha256:...) once known."
    )
    repository: str | None = None
    ref: str | None = None
    commit_sha: str | None = None
    compose_files: list[str] | None = None
    compose_profiles: list[str] | None = None
    dockerfile: str | None = None

    @classmethod
    def of(cls, data: dict[str, Any]) -> DeploymentInput:
        return cls(
            source_type=data["sourceType"],
            image=data.get("image"),
            image_tag=data.get("imageTag"),
            image_digest=data.get("imageDigest"),
            image_id=data.get("imageId"),
            repository=data.get("repository"),
            ref=data.get("ref"),
            commit_sha=data.get("commitSha"),
            compose_files=data.get("composeFiles"),
            compose_profiles=data.get("composeProfiles"),
            dockerfile=data.get("dockerfile"),
        )


@strawberry.type(name="DeploymentStep")
class DeploymentStep:
    kind: StepKind
    status: StepStatus
    started_at: datetime | None
    completed_at: datetime | None
    detail: str | None = strawberry.field(
        description="Short human-readable outcome, e.g. the error that failed the step."
    )

    @classmethod
    def of(cls, row: StepRow) -> DeploymentStep:
        return cls(
            kind=row.kind,
            status=row.status,
            started_at=row.started_at,
            completed_at=row.completed_at,
            detail=row.detail,
        )

    @classmethod
    def of_snapshot(cls, data: dict[str, Any]) -> DeploymentStep:
        return cls(
            kind=data["kind"],
            status=data["status"],
            started_at=datetime.fromisoformat(data["startedAt"]) if data.get("startedAt") else None,
            completed_at=datetime.fromisoformat(data["completedAt"]) if data.get("completedAt") else None,
            detail=data.get("detail"),
        )


@strawberry.type(name="DeploymentError")
class DeploymentError:
    step: StepKind | None
    code: str
    message: str


@strawberry.type(name="LogLine")
class LogLine:
    seq: int = strawberry.field(description="Gap-free sequence number within the deployment, starting at 1.")
    timestamp: datetime
    stream: LogStream
    step: StepKind | None
    text: str

    @classmethod
    def of(cls, row: LogLineRow) -> LogLine:
        return cls(seq=row.seq, timestamp=row.timestamp, stream=row.stream, step=row.step, text=row.text)


@strawberry.type(name="LogLineBatch", description="Consecutive log lines, in seq order, gap-free across batches.")
class LogLineBatch:
    lines: list[LogLine]
    last_seq: int = strawberry.field(description="seq of the last line in this batch (resume with afterSeq = lastSeq).")


@strawberry.type(name="LogLineEdge")
class LogLineEdge:
    cursor: str
    node: LogLine


@strawberry.type(name="LogLineConnection")
class LogLineConnection:
    edges: list[LogLineEdge]
    page_info: PageInfo

    @classmethod
    def of(cls, page: LogLinePage) -> LogLineConnection:
        return cls(
            edges=[
                LogLineEdge(cursor=cursor, node=LogLine.of(row))
                for cursor, row in zip(page.cursors, page.nodes, strict=True)
            ],
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=page.start_cursor,
                end_cursor=page.end_cursor,
            ),
        )


@strawberry.type(name="ObservedContainer")
class ObservedContainer:
    name: str
    image: str
    image_digest: str | None
    state: str
    health: str | None
    deployment_id: strawberry.ID | None
    started_at: datetime | None


@strawberry.type(name="Difference")
class Difference:
    field: str
    expected: str | None
    actual: str | None


def _deployment_label(value: Any) -> strawberry.ID | None:
    """The owning deployment from a container's label, as a global id; a label that is not
    a deployment id (a container Berth did not start) owns nothing."""
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit()):
        return None
    return strawberry.ID(to_global_id("Deployment", int(text)))


@strawberry.type(name="ObservedState")
class ObservedState:
    observed_at: datetime
    drift: DriftStatus
    containers: list[ObservedContainer]
    differences: list[Difference]
    row: strawberry.Private[ObservationRow]

    @classmethod
    def of(cls, row: ObservationRow) -> ObservedState:
        containers = [
            ObservedContainer(
                name=c.get("name", ""),
                image=c.get("image", ""),
                image_digest=c.get("imageDigest"),
                state=c.get("state", "unknown"),
                health=c.get("health"),
                deployment_id=_deployment_label(c.get("deploymentId")),
                started_at=datetime.fromisoformat(c["startedAt"]) if c.get("startedAt") else None,
            )
            for c in row.containers
        ]
        differences = [
            Difference(field=d["field"], expected=d.get("expected"), actual=d.get("actual"))
            for d in row.differences
        ]
        return cls(
            observed_at=row.observed_at,
            drift=row.drift,
            containers=containers,
            differences=differences,
            row=row,
        )

    @strawberry.field(description="Deployment whose frozen input the observation was compared with.")
    async def compared_with(self, info: strawberry.Info) -> Deployment | None:
        pk = self.row.compared_with_id  # type: ignore[attr-defined]
        if pk is None:
            return None
        row = await info.context.loaders.deployment.load(pk)
        return Deployment.of(row) if row else None


# Edges of a deployment, resolved from the request's loaders (see `loaders.resolved`).
def _service(row: Any) -> Service | None:
    return Service.of(row) if row else None


def _project(row: Any) -> Project | None:
    return Project.of(row) if row else None


def _environment(row: Any) -> Environment | None:
    return Environment.of(row) if row else None


def _server(row: Any) -> Server | None:
    return Server.of(row) if row else None


def _steps(rows: Any) -> list[DeploymentStep]:
    return [DeploymentStep.of(s) for s in rows]


@strawberry.type(name="Deployment", directives=requires("deploy:read"))
class Deployment(Node):
    number: int = strawberry.field(description="Sequence number within the service, starting at 1.")
    status: DeploymentStatus
    conclusion: DeploymentConclusion | None
    trigger: DeploymentTrigger
    created_at: datetime
    started_at: datetime | None
    concluded_at: datetime | None
    cancel_requested_at: datetime | None
    reason: str | None = strawberry.field(
        description="The reason given to startDeployment or rollbackDeployment, if any."
    )
    cancel_reason: str | None = strawberry.field(
        description="The reason given to cancelDeployment (queued or running), if any."
    )
    logs_pruned_at: datetime | None = strawberry.field(
        default=None,
        description="When retention removed this deployment's log lines (BERTH_RETENTION_LOG_DAYS); "
        "null while they are kept. The record itself stays whole: `logs` then returns no lines.",
    )

    # The record's JSON is read from the row only when selected: a page of deployments
    # that does not show it does not even fetch it (see `resolvers.deployments`).
    @strawberry.field(description="Resolved configuration at deploy time, secrets redacted.")
    def config_snapshot(self, info: strawberry.Info) -> JSON:
        return cast(JSON, visible_document(info.context.require_principal(), Document.CONFIG_SNAPSHOT, self.row.config_snapshot))

    @strawberry.field(
        description="View 1: what was selected before the rollout (repository, branch, compose files, profiles, target)."
    )
    def declared_config(self, info: strawberry.Info) -> JSON:
        return cast(JSON, visible_document(info.context.require_principal(), Document.DECLARED_CONFIG, self.row.declared_config))

    @strawberry.field(
        description="View 2: the replayable snapshot that was actually queued "
        "(env evidence, readiness gates, image overrides, preview metadata)."
    )
    def frozen_input(self, info: strawberry.Info) -> JSON:
        return cast(JSON, visible_document(info.context.require_principal(), Document.FROZEN_INPUT, self.row.frozen_input))

    row: strawberry.Private[DeploymentRow]

    @classmethod
    def of(cls, row: DeploymentRow) -> Deployment:
        return cls(
            id=strawberry.ID(to_global_id("Deployment", row.pk)),
            number=row.number,
            status=row.status,
            conclusion=row.conclusion,
            trigger=row.trigger,
            created_at=row.created_at,
            started_at=row.started_at,
            concluded_at=row.concluded_at,
            cancel_requested_at=row.cancel_requested_at,
            reason=row.reason,
            cancel_reason=row.cancel_reason,
            logs_pruned_at=row.logs_pruned_at,
            row=row,
        )

    @strawberry.field(
        description="Edges into types with other scopes are nullable so that a missing scope nulls only that edge."
    )
    def service(self, info: strawberry.Info) -> Service | None:
        return resolved(info.context.loaders.service, self.row.service_id, _service)  # type: ignore[no-any-return]

    @strawberry.field
    def project(self, info: strawberry.Info) -> Project | None:
        return resolved(info.context.loaders.project, self.row.project_id, _project)  # type: ignore[no-any-return]

    @strawberry.field
    def environment(self, info: strawberry.Info) -> Environment | None:
        return resolved(  # type: ignore[no-any-return]
            info.context.loaders.environment, self.row.environment_id, _environment
        )

    @strawberry.field
    def server(self, info: strawberry.Info) -> Server | None:
        return resolved(info.context.loaders.server, self.row.server_id, _server)  # type: ignore[no-any-return]

    @strawberry.field
    def actor(self) -> Actor:
        return Actor.of(self.row.actor)

    @strawberry.field
    def input(self) -> DeploymentInput:
        return DeploymentInput.of(self.row.input)

    @strawberry.field
    def steps(self, info: strawberry.Info) -> list[DeploymentStep]:
        return resolved(info.context.loaders.steps, self.row.pk, _steps)  # type: ignore[no-any-return]

    @strawberry.field
    def error(self) -> DeploymentError | None:
        data = self.row.error
        if not data:
            return None
        return DeploymentError(step=data.get("step"), code=data["code"], message=data["message"])

    @strawberry.field(description="Set on a rollback: the deployment whose frozen input this one replays.")
    async def rollback_of(self, info: strawberry.Info) -> Deployment | None:
        pk = self.row.rollback_of_id  # type: ignore[attr-defined]
        if pk is None:
            return None
        row = await info.context.loaders.deployment.load(pk)
        return Deployment.of(row) if row else None

    @strawberry.field(description="Set for a preview's deployments (the same metadata is in frozenInput.preview).")
    async def preview(self, info: strawberry.Info) -> PreviewEnvironmentT | None:
        from berth.schema.types.git import PreviewEnvironment

        pk = self.row.preview_id
        if pk is None:
            return None
        row = await info.context.loaders.preview.load(pk)
        return PreviewEnvironment.of(row) if row else None

    @strawberry.field(
        description="Protected environments: whether it waits for approval, and the decisions so far "
        "(NOT_REQUIRED elsewhere)."
    )
    async def approval(self, info: strawberry.Info) -> DeploymentApprovalT:
        from berth.schema.types.approvals import DeploymentApproval

        return DeploymentApproval.of(await info.context.loaders.approval.load(self.row))

    @strawberry.field(
        description="Position in the server's queue while QUEUED, else null "
        "(null too while waiting for approval: it takes no place in the queue until approved)."
    )
    async def queue_position(self, info: strawberry.Info) -> int | None:
        return await info.context.loaders.queue_position.load(self.row)  # type: ignore[no-any-return]

    @strawberry.field(description="View 3: the most recent runtime observation for this service environment.")
    async def last_observed_state(self, info: strawberry.Info) -> ObservedState | None:
        row = await info.context.loaders.latest_observation.load(self.row.service_id)  # type: ignore[attr-defined]
        return ObservedState.of(row) if row else None

    @strawberry.field(description="The whole record as one JSON document, for copy/download.")
    async def artifact(self, info: strawberry.Info) -> JSON:
        loaders = info.context.loaders
        steps = await loaders.steps.load(self.row.pk)
        observation = await loaders.latest_observation.load(self.row.service_id)  # type: ignore[attr-defined]
        # The record as it is now, queue position included (the same value as `queuePosition`).
        position = await loaders.queue_position.load(self.row)
        document = artifact_document(self.row, steps, observation, encode_id=to_global_id, queue_position=position)
        return cast(JSON, visible_document(info.context.require_principal(), Document.ARTIFACT, document))

    @strawberry.field(directives=requires("logs:read"))
    async def logs(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> LogLineConnection | None:
        try:
            page = await list_log_lines(self.row.pk, first, after)
        except UserFacingError as error:
            # Arguments of a query field: a field error with the offending argument named.
            raise CodedError(error.message, "BAD_USER_INPUT", field=error.field) from None
        return LogLineConnection.of(page)


@strawberry.type(name="DeploymentEdge")
class DeploymentEdge:
    cursor: str
    node: Deployment


@strawberry.type(name="DeploymentConnection")
class DeploymentConnection:
    edges: list[DeploymentEdge]
    nodes: list[Deployment]
    page_info: PageInfo
    total_count: int


@strawberry.input(name="DeploymentFilter")
class DeploymentFilter:
    project_id: strawberry.ID | None = None
    service_id: strawberry.ID | None = None
    environment_id: strawberry.ID | None = None
    server_id: strawberry.ID | None = None
    status: list[DeploymentStatus] | None = None
    conclusion: list[DeploymentConclusion] | None = None
    trigger: list[DeploymentTrigger] | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
