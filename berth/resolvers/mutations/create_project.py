from __future__ import annotations

import strawberry

from berth.domain.inventory import create_project
from berth.domain.specs import ProjectSpec
from berth.resolvers.common import principal_of, run_mutation, to_spec
from berth.schema.types.inputs import CreateProjectInput, ProjectPayload
from berth.schema.types.inventory import Project


async def resolve(info: strawberry.Info, input: CreateProjectInput) -> ProjectPayload:
    async def action() -> Project:
        return Project.of(await create_project(principal_of(info), to_spec(ProjectSpec, input)))

    return await run_mutation(ProjectPayload, action, "project")
