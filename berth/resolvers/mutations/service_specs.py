"""Nested service inputs (source, env, health check, resources, route) as domain specs; shared by create and update."""

from __future__ import annotations

from typing import Any

from berth.domain.specs import EnvVarSpec, GitAuthSpec, HealthCheckSpec, ResourcesSpec, RouteSpec, SourceSpec
from berth.resolvers.common import to_spec


def source_spec(source: Any) -> SourceSpec | None:
    if source is None:
        return None
    git_auth = getattr(source, "git_auth", None)
    return to_spec(
        SourceSpec, source, type=source.type.value if hasattr(source.type, "value") else source.type,
        git_auth=None if git_auth is None else to_spec(GitAuthSpec, git_auth),
    )


def env_specs(env: Any) -> list[EnvVarSpec] | None:
    return None if env is None else [to_spec(EnvVarSpec, item) for item in env]


def health_spec(health: Any) -> HealthCheckSpec | None:
    return None if health is None else to_spec(HealthCheckSpec, health)


def resources_spec(resources: Any) -> ResourcesSpec | None:
    return None if resources is None else to_spec(ResourcesSpec, resources)


def route_spec(route: Any) -> RouteSpec | None:
    return None if route is None else to_spec(RouteSpec, route)
