"""Per-request DataLoaders, so nested edges cost one query per kind, not one per row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader
from tortoise.models import Model

from berth.models import Deployment, DeploymentStep, Environment, Observation, Project, Server, Service
from berth.models.git import PreviewEnvironment
from berth.models.sql import fetch_rows

M = TypeVar("M", bound=Model)
K = TypeVar("K")
V = TypeVar("V")
R = TypeVar("R")


def resolved(loader: DataLoader[K, V], key: K, convert: Callable[[V], R]) -> Any:
    """`convert(value)` for `key`: at once when the loader already holds the value (a page
    prefetched it, see `berth.schema.deployment_pages`), else an awaitable of it — graphql-core
    awaits what a resolver returns, so a field served from the cache costs no task.
    An error the loader holds is raised by awaiting it, exactly as before."""
    future = loader.cache_map.get(key) if loader.cache else None
    if future is not None and future.done() and not future.cancelled() and future.exception() is None:
        return convert(future.result())
    return _later(loader, key, convert)


async def _later(loader: DataLoader[K, V], key: K, convert: Callable[[V], R]) -> R:
    return convert(await loader.load(key))


def _by_id(model: type[M]) -> DataLoader[int, M | None]:
    async def load(ids: list[int]) -> Sequence[M | None]:
        rows = {row.pk: row for row in await fetch_rows(model.filter(id__in=ids))}
        return [rows.get(i) for i in ids]

    return DataLoader(load_fn=load)


async def _steps(deployment_ids: list[int]) -> Sequence[list[DeploymentStep]]:
    grouped: dict[int, list[DeploymentStep]] = defaultdict(list)
    for step in await fetch_rows(DeploymentStep.filter(deployment_id__in=deployment_ids).order_by("position")):
        grouped[step.deployment_id].append(step)  # type: ignore[attr-defined]
    return [grouped[i] for i in deployment_ids]


async def _latest_observation(service_ids: list[int]) -> Sequence[Observation | None]:
    # One query: the newest row per service. Observations are pruned by the observer, so
    # reading the recent ones of these services and keeping the first per service is cheap.
    latest: dict[int, Observation] = {}
    for row in await Observation.filter(service_id__in=service_ids).order_by("-observed_at", "-id"):
        latest.setdefault(row.service_id, row)  # type: ignore[attr-defined]
    return [latest.get(i) for i in service_ids]


async def _latest_deployment(service_ids: list[int]) -> Sequence[Deployment | None]:
    latest: dict[int, Deployment] = {}
    rows = await Deployment.filter(service_id__in=service_ids).order_by("-created_at", "-id")
    for row in rows:
        latest.setdefault(row.service_id, row)  # type: ignore[attr-defined]
    return [latest.get(i) for i in service_ids]


async def _queue_positions(deployments: list[Deployment]) -> Sequence[int | None]:
    from berth.domain.queries import queue_positions

    positions = await queue_positions(deployments)
    return [positions[d.pk] for d in deployments]


async def _approvals(deployments: list[Deployment]) -> Sequence[Any]:
    from berth.domain.approvals import approvals_of

    approvals = await approvals_of(deployments)
    return [approvals[d.pk] for d in deployments]


class Loaders:
    def __init__(self) -> None:
        self.server = _by_id(Server)
        self.project = _by_id(Project)
        self.environment = _by_id(Environment)
        self.service = _by_id(Service)
        self.deployment = _by_id(Deployment)
        self.preview = _by_id(PreviewEnvironment)
        self.steps: DataLoader[int, list[DeploymentStep]] = DataLoader(load_fn=_steps)
        self.latest_observation: DataLoader[int, Observation | None] = DataLoader(load_fn=_latest_observation)
        self.latest_deployment: DataLoader[int, Deployment | None] = DataLoader(load_fn=_latest_deployment)
        self.queue_position: DataLoader[Deployment, int | None] = DataLoader(
            load_fn=_queue_positions, cache_key_fn=lambda row: row.pk
        )
        # Deployment.approval (berth.domain.approvals.Approval): one query per page.
        self.approval: DataLoader[Deployment, Any] = DataLoader(load_fn=_approvals, cache_key_fn=lambda row: row.pk)

    def prime(self, rows: Sequence[Any]) -> None:
        """Rows already read (e.g. a page of deployments) need no second query."""
        for row in rows:
            loader = getattr(self, type(row).__name__.lower(), None)
            if isinstance(loader, DataLoader):
                loader.prime(row.pk, row)
