"""Which steps a deployment runs, in order, by source type (the table of CONTRACT §3)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from berth.models.enums import StepKind
from berth.runner.steps import compose, containers, images
from berth.runner.steps.context import RunContext

StepBody = Callable[[RunContext], Coroutine[Any, Any, str]]
SkipCheck = Callable[[RunContext], Awaitable[str | None]]
Undo = Callable[[RunContext, bool], Awaitable[str | None]]

# Slack over a step's own deadline before the driver stops it: the operation's own
# timeout fires first and says what timed out.
DEADLINE_SLACK_SECONDS = 10.0
FINALIZE_SECONDS = 300.0


@dataclass(frozen=True)
class Step:
    kind: StepKind
    run: StepBody
    skip: SkipCheck | None = None
    """Decides just before the step whether it applies after all (returns the reason it does not)."""


@dataclass(frozen=True)
class Pipeline:
    steps: tuple[Step, ...]
    undo: Undo
    not_applicable: dict[StepKind, str] = field(default_factory=dict)
    """Steps SKIPPED when the deployment starts, with the reason."""


def step_limit(ctx: RunContext, kind: StepKind) -> float:
    """How long the driver lets a step run before stopping it (TIMEOUT)."""
    deadlines = ctx.settings.step_deadlines
    seconds = {
        StepKind.CLONE: deadlines.clone,
        StepKind.BUILD: deadlines.build,
        StepKind.PULL: deadlines.pull,
        StepKind.VOLUME: deadlines.volume,
        StepKind.START: deadlines.start,
        StepKind.HEALTH: containers.health_spec(ctx).timeout_seconds,
        # With a route FINALIZE also waits out the old version's drain (at most 300 s).
        StepKind.FINALIZE: FINALIZE_SECONDS + int((ctx.frozen.get("route") or {}).get("drainSeconds") or 0),
    }[kind]
    return min(seconds + DEADLINE_SLACK_SECONDS, max(ctx.time_left(), 0.0) + DEADLINE_SLACK_SECONDS)


async def _build_unless_replayed(ctx: RunContext) -> str | None:
    return "the replayed image is still on the server" if ctx.replay_ready else None


def _container_tail() -> tuple[Step, ...]:
    return (
        Step(StepKind.VOLUME, containers.volumes),
        Step(StepKind.START, containers.start),
        Step(StepKind.HEALTH, containers.health),
        Step(StepKind.FINALIZE, containers.finalize),
    )


def pipeline_for(ctx: RunContext) -> Pipeline:
    source = ctx.source_type
    if source == "IMAGE":
        return Pipeline(
            steps=(Step(StepKind.PULL, images.pull), *_container_tail()),
            undo=containers.undo,
            not_applicable={StepKind.CLONE: "IMAGE source", StepKind.BUILD: "IMAGE source"},
        )
    if source == "DOCKERFILE":
        return Pipeline(
            steps=(
                Step(StepKind.CLONE, images.clone, skip=images.replay_image_present),
                Step(StepKind.BUILD, images.build, skip=_build_unless_replayed),
                *_container_tail(),
            ),
            undo=containers.undo,
            not_applicable={StepKind.PULL: "base images come with BUILD"},
        )
    if source == "COMPOSE":
        from_repository = bool(ctx.frozen.get("repository"))
        steps = (
            *((Step(StepKind.CLONE, compose.clone),) if from_repository else ()),
            Step(StepKind.BUILD, compose.build, skip=compose.skip_build),
            Step(StepKind.PULL, compose.pull, skip=compose.skip_pull),
            Step(StepKind.VOLUME, compose.volumes),
            Step(StepKind.START, compose.start),
            Step(StepKind.HEALTH, compose.health),
            Step(StepKind.FINALIZE, compose.finalize),
        )
        skipped = {} if from_repository else {StepKind.CLONE: "inline compose content"}
        return Pipeline(steps=steps, undo=compose.undo, not_applicable=skipped)
    raise ValueError(f"unknown source type {source!r}")
