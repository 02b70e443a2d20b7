"""Small shared types: paging info, user errors, enums of the contract."""

from __future__ import annotations

import strawberry

from berth.domain.errors import UserErrorCode
from berth.models.enums import (
    ApprovalState,
    DeploymentConclusion,
    DeploymentEventType,
    DeploymentStatus,
    DeploymentTrigger,
    DriftStatus,
    LogStream,
    Role,
    SourceType,
    StepKind,
    StepStatus,
    TokenKind,
)

__all__ = [
    "ApprovalState",
    "DeploymentConclusion",
    "DeploymentEventType",
    "DeploymentStatus",
    "DeploymentTrigger",
    "DriftStatus",
    "LogStream",
    "PageInfo",
    "Role",
    "SourceType",
    "StepKind",
    "StepStatus",
    "TokenKind",
    "UserError",
    "UserErrorCode",
]

# The models' enums are the schema's enums: registered once, under their own names.
for _enum in (
    Role,
    TokenKind,
    SourceType,
    DeploymentStatus,
    DeploymentConclusion,
    DeploymentTrigger,
    StepKind,
    StepStatus,
    LogStream,
    DriftStatus,
    DeploymentEventType,
    ApprovalState,
):
    strawberry.enum(_enum)


# The domain's error codes are the schema's `UserErrorCode`: one list, registered here.
strawberry.enum(UserErrorCode, name="UserErrorCode")


@strawberry.type(name="UserError")
class UserError:
    code: UserErrorCode
    message: str
    field: list[str] | None = strawberry.field(
        default=None, description='Path to the offending input field, e.g. ["input", "imageTag"].'
    )


@strawberry.type(name="PageInfo")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None = None
    end_cursor: str | None = None
