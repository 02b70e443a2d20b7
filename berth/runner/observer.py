"""The observer: what actually runs for each service, compared with what was deployed
(CONTRACT §4, lastObservedState).

For each server it asks the daemon for its version (keeping `Server.reachable`,
`lastCheckedAt` and `dockerVersion` current) and, for each service on it, lists the
containers carrying the service's labels. Those are compared with the frozen input of the
service's newest SUCCEEDED deployment:

* IN_SYNC — the expected number of containers, all running, none unhealthy, on the image
  the deployment resolved (digest, else image id, else reference);
* DRIFTED — something differs; `differences` names each field with expected and actual
  (a container's memory, CPU and pids limits are compared with the frozen `resources` too);
* MISSING — no containers at all;
* UNKNOWN — the server did not answer.

Services with a deployment in progress are left out of the periodic pass (their
containers are changing on purpose); the runner observes each service again once a
deployment of it has finished. Pull requests' previews are not the service: their
containers are left out of its observation, their deployments are never its baseline, and
each pass also closes idle previews, tears closed ones down and sweeps the objects of
previews that are gone (`berth.runner.preview_teardown`).

Several runner processes on one PostgreSQL each run an observer: a periodic check of a
server is "claimed" by moving its `last_checked_at` forward with a guarded update, so
each server is checked by one of them per interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import yaml
from tortoise.expressions import Q

from berth.domain.resources import Limits, limits_of
from berth.models import Deployment, Observation, Server, Service
from berth.models.enums import DeploymentConclusion, DriftStatus, SourceType
from berth.models.lifecycle import RUNNING_STATUSES, now
from berth.runner import labels, preview_teardown
from berth.runner.docker_api import COMPOSE_SERVICE_LABEL, ContainerInfo, DockerApi
from berth.runner.labels import DEPLOYMENT, service_filter
from berth.runner.proxy.observe import observe_proxy, route_differences
from berth.runner.service_removal import pending_removals, record_removed, remove_service
from berth.settings import Settings

log = logging.getLogger("berth.observer")

EngineFactory = Callable[[Server], Awaitable[DockerApi]]
KEEP_OBSERVATIONS = 100
"""Observations kept per service by default (BERTH_RETENTION_OBSERVATIONS); older ones are pruned."""
SERVER_TIMEOUT_SECONDS = 30.0
"""A server that takes longer than this for one pass counts as unreachable."""
PARALLEL_SERVERS = 8
_GONE_STATES = frozenset({"exited", "dead", "removing"})
COMPOSE_IMAGES_KEY = "composeImages"
"""Frozen-input key the executor fills with {compose service: repository@digest}."""


@dataclass
class ObservedContainer:
    info: ContainerInfo
    repo_digests: tuple[str, ...] = ()

    def view(self, expected_digest: str | None) -> dict[str, Any]:
        return {
            "name": self.info.name,
            "image": self.info.image,
            "imageDigest": _pick_digest(self.repo_digests, expected_digest),
            "imageId": self.info.image_id,
            "state": self.info.state,
            "health": self.info.health,
            "deploymentId": self.info.labels.get(DEPLOYMENT),
            "startedAt": _iso_or_none(self.info.started_at),
        }


@dataclass
class Verdict:
    drift: DriftStatus
    containers: list[dict[str, Any]] = field(default_factory=list)
    differences: list[dict[str, str | None]] = field(default_factory=list)


def _digest_of(reference: str | None) -> str | None:
    """'repo@sha256:…' or 'sha256:…' -> 'sha256:…'."""
    if not reference:
        return None
    return reference.rsplit("@", 1)[-1] if "sha256:" in reference else None


def _pick_digest(repo_digests: Sequence[str], expected: str | None) -> str | None:
    wanted = _digest_of(expected)
    for candidate in repo_digests:
        if wanted and _digest_of(candidate) == wanted:
            return candidate
    return repo_digests[0] if repo_digests else None


def _iso_or_none(value: str) -> str | None:
    if not value or value.startswith("0001-01-01"):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()
    except ValueError:
        return None


def expected_container_count(frozen: Mapping[str, Any]) -> int | None:
    """How many containers the frozen input starts; None when it cannot be told (compose
    files not rendered yet, unparsable)."""
    if frozen.get("sourceType") != str(SourceType.COMPOSE):
        return 1
    files = frozen.get("composeFiles") or []
    services: dict[str, int] = {}
    profiles = set(frozen.get("composeProfiles") or [])
    for item in files:
        content = item.get("content") if isinstance(item, Mapping) else None
        if not content:
            return None
        try:
            document = yaml.safe_load(content)
        except yaml.YAMLError:
            return None
        if not isinstance(document, Mapping):
            return None
        for name, config in (document.get("services") or {}).items():
            config = config if isinstance(config, Mapping) else {}
            wanted = set(config.get("profiles") or [])
            if wanted and not wanted & profiles:
                services.pop(name, None)
                continue
            deploy = config.get("deploy")
            deploy = deploy if isinstance(deploy, Mapping) else {}
            replicas = deploy.get("replicas", config.get("scale", services.get(name, 1)))
            services[name] = int(replicas) if isinstance(replicas, int) else 1
    return sum(services.values())


def compare(frozen: Mapping[str, Any] | None, baseline_id: int | None,
            containers: Sequence[ObservedContainer]) -> Verdict:
    """The drift verdict for a service's containers against its last successful frozen input."""
    expected_digest = _digest_of((frozen or {}).get("imageDigest"))
    compose = (frozen or {}).get("sourceType") == str(SourceType.COMPOSE)
    views = [c.view((frozen or {}).get("imageDigest")) for c in containers]
    # Stopped containers of other deployments are leftovers (e.g. a retired predecessor);
    # they are listed but not compared. A stopped container of the baseline is a drift.
    relevant = [
        c for c in containers
        if c.info.state not in _GONE_STATES or c.info.labels.get(DEPLOYMENT) == str(baseline_id)
    ]
    if not relevant:
        return Verdict(DriftStatus.MISSING, views)
    differences: list[dict[str, str | None]] = []
    if frozen is None:
        differences.append({"field": "deployment", "expected": None,
                            "actual": f"{len(relevant)} container(s) without a successful deployment"})
        return Verdict(DriftStatus.DRIFTED, views, differences)
    count = expected_container_count(frozen)
    if count is not None and count != len(relevant):
        differences.append({"field": "containerCount", "expected": str(count), "actual": str(len(relevant))})
    for container in relevant:
        info = container.info
        prefix = f"{info.labels.get(COMPOSE_SERVICE_LABEL, info.name)}." if compose else ""
        if info.state != "running":
            differences.append({"field": prefix + "state", "expected": "running", "actual": info.state})
        if info.health == "unhealthy":
            differences.append({"field": prefix + "health", "expected": "healthy", "actual": info.health})
        differences.extend(_limit_differences(prefix, frozen, info, only_set=compose))
        if compose:
            # The executor pins each compose service's image as repository@digest.
            pin = (frozen.get(COMPOSE_IMAGES_KEY) or {}).get(info.labels.get(COMPOSE_SERVICE_LABEL, ""))
            if pin:
                differences.extend(_digest_difference(prefix + "imageDigest", pin, container))
            continue
        if expected_digest:
            differences.extend(_digest_difference("imageDigest", frozen["imageDigest"], container))
        elif frozen.get("imageId"):
            if info.image_id != frozen["imageId"]:
                differences.append({"field": "imageId", "expected": frozen["imageId"], "actual": info.image_id})
        elif frozen.get("image") and info.image != frozen["image"]:
            differences.append({"field": "image", "expected": frozen["image"], "actual": info.image})
    return Verdict(DriftStatus.DRIFTED if differences else DriftStatus.IN_SYNC, views, differences)


def _limit_text(field: str, value: int) -> str:
    if not value:
        return "none"
    if field == "memoryMb":
        return f"{value / (1024 * 1024):g}"
    if field == "cpus":
        return f"{value / 1e9:g}"
    return str(value)


def _limit_differences(prefix: str, frozen: Mapping[str, Any], info: ContainerInfo,
                       *, only_set: bool) -> list[dict[str, str | None]]:
    """The limits that differ from the frozen `resources` (inputs from before resources have
    none to compare). `only_set`: compare only the limits the service sets — a compose file may
    set its own where the service sets none."""
    if "resources" not in frozen:
        return []
    expected = limits_of(frozen.get("resources"))
    actual = Limits(info.memory_bytes, info.nano_cpus, info.pids_limit)
    differences: list[dict[str, str | None]] = []
    for name, want, have in (("memoryMb", expected.memory_bytes, actual.memory_bytes),
                             ("cpus", expected.nano_cpus, actual.nano_cpus),
                             ("pidsLimit", expected.pids_limit, actual.pids_limit)):
        if want != have and (want or not only_set):
            differences.append({"field": f"{prefix}resources.{name}", "expected": _limit_text(name, want),
                                "actual": _limit_text(name, have)})
    return differences


def _digest_difference(name: str, expected: str, container: ObservedContainer) -> list[dict[str, str | None]]:
    if _digest_of(expected) in {_digest_of(d) for d in container.repo_digests}:
        return []
    info = container.info
    actual = _pick_digest(container.repo_digests, None) or f"{info.image} ({info.image_id})"
    return [{"field": name, "expected": expected, "actual": actual}]


async def _baseline(service_id: int) -> Deployment | None:
    return await Deployment.filter(
        service_id=service_id, conclusion=DeploymentConclusion.SUCCEEDED, preview_id=None
    ).order_by("-concluded_at", "-id").first()


async def _describe(engine: DockerApi, containers: Sequence[ContainerInfo]) -> list[ObservedContainer]:
    observed: list[ObservedContainer] = []
    digests: dict[str, tuple[str, ...]] = {}
    for info in containers:
        if info.labels.get("com.docker.compose.oneoff") == "True":
            continue
        if info.image_id not in digests:
            try:
                digests[info.image_id] = tuple((await engine.inspect_image(info.image_id)).repo_digests)
            except Exception:  # image removed under a container: no digest to show
                digests[info.image_id] = ()
        observed.append(ObservedContainer(info, digests[info.image_id]))
    return observed


class Observer:
    def __init__(self, settings: Settings, engine_factory: EngineFactory | None = None) -> None:
        self.settings = settings
        self._engine_factory = engine_factory or _default_engine_factory
        self._task: asyncio.Task[None] | None = None
        self.last_pass: datetime | None = None

    # ---- lifecycle

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="observer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.observe_all()
            except Exception:
                log.exception("observer pass failed")
            await asyncio.sleep(self.settings.observer_interval_seconds)

    # ---- passes

    async def observe_all(self, *, claim: bool = True) -> list[Observation]:
        """One periodic pass over every server; with `claim`, only servers no other observer
        checked within the last half interval."""
        servers = await Server.all().order_by("id")
        semaphore = asyncio.Semaphore(PARALLEL_SERVERS)
        try:
            await preview_teardown.close_expired(self.settings.preview_ttl_hours)
        except Exception:
            log.exception("observer: closing idle previews failed")

        async def one(server: Server) -> list[Observation]:
            async with semaphore:
                if claim and not await self._claim_server(server):
                    return []
                observations = await self.observe_server(server, skip_busy=True)
                await self.remove_deleted_services(server)
                await self.clean_previews(server)
                return observations

        results = await asyncio.gather(*(one(server) for server in servers))
        self.last_pass = now()
        return [observation for batch in results for observation in batch]

    async def observe_service(self, service_id: int) -> Observation | None:
        """Observe one service now (after a deployment of it); None when there is nothing to say."""
        service = await Service.get_or_none(id=service_id)
        if service is None or service.deleted_at is not None:
            return None
        server = await Server.get(id=service.server_id)  # type: ignore[attr-defined]
        observations = await self.observe_server(server, services=[service], skip_busy=False)
        return observations[0] if observations else None

    async def observe_server(self, server: Server, *, services: Sequence[Service] | None = None,
                             skip_busy: bool = True) -> list[Observation]:
        if services is None:
            services = await Service.filter(server_id=server.id, deleted_at__isnull=True).order_by("id")
        busy: set[int] = set()
        if skip_busy and services:
            busy = set(await Deployment.filter(
                service_id__in=[s.id for s in services], status__in=list(RUNNING_STATUSES), preview_id=None
            ).values_list("service_id", flat=True))  # type: ignore[arg-type]
        wanted = [service for service in services if service.id not in busy]
        try:
            listed = await asyncio.wait_for(self._inspect(server, wanted), timeout=SERVER_TIMEOUT_SECONDS)
        except Exception as error:  # unreachable, refused, timed out: all say "unknown"
            reason = str(error) or type(error).__name__
            log.info("observer: server %s unreachable: %s", server.name, reason)
            await Server.filter(id=server.id).update(reachable=False, last_checked_at=now())
            return [obs for service in wanted if (obs := await self._record_unknown(service)) is not None]
        version, per_service, upstreams = listed
        await Server.filter(id=server.id).update(reachable=True, last_checked_at=now(), docker_version=version)
        observations = []
        for service in wanted:
            observation = await self._record(service, per_service[service.id], upstreams)
            if observation is not None:
                observations.append(observation)
        return observations

    async def _inspect(self, server: Server, services: Sequence[Service],
                       ) -> tuple[str, dict[int, list[ObservedContainer]], dict[int, str | None] | None]:
        engine = await self._engine_factory(server)
        try:
            version = (await engine.version()).version
            per_service: dict[int, list[ObservedContainer]] = {}
            for service in services:
                containers = await engine.list_containers(
                    service_filter(service.id, service.environment_id)  # type: ignore[attr-defined]
                )
                own = [c for c in containers if labels.in_lane(c.labels, None)]
                per_service[service.id] = await _describe(engine, own)
            # Routed services: where the proxy sends their hosts (and the proxy put back if gone).
            upstreams = await observe_proxy(engine, server, self.settings, services)
            return version[:64], per_service, upstreams
        finally:
            with contextlib.suppress(Exception):
                await engine.close()

    async def remove_deleted_services(self, server: Server) -> int:
        """Remove what deleted services of the server still run; returns how many are now gone.
        Whatever is left (server unreachable, a volume in use) is retried on the next pass."""
        pending = await pending_removals(server.id)
        if not pending:
            return 0
        finished = 0
        try:
            engine = await self._engine_factory(server)
        except Exception as error:
            log.info("observer: server %s unreachable for deleted services: %s", server.name, error)
            return 0
        try:
            for service in pending:
                removal = await asyncio.wait_for(remove_service(engine, service), timeout=SERVER_TIMEOUT_SECONDS)
                if removal.done:
                    await record_removed(service)
                    finished += 1
        except Exception as error:
            log.info("observer: removing deleted services on %s: %s", server.name, error)
        finally:
            with contextlib.suppress(Exception):
                await engine.close()
        return finished

    async def clean_previews(self, server: Server) -> int:
        """Tear down the server's closed previews and sweep orphaned preview objects;
        returns how many previews became CLEANED. What is left is retried next pass."""
        pending = await preview_teardown.pending_teardowns(server.id)
        try:
            await labels.load_installation()  # the sweep must see only this installation's
            engine = await self._engine_factory(server)
        except Exception as error:
            log.info("observer: server %s unreachable for previews: %s", server.name, error)
            return 0
        cleaned = 0
        try:
            for preview in pending:
                teardown = await asyncio.wait_for(preview_teardown.tear_down(engine, preview, server, self.settings),
                                                  timeout=SERVER_TIMEOUT_SECONDS)
                cleaned += teardown.done
            await asyncio.wait_for(preview_teardown.sweep_orphans(engine), timeout=SERVER_TIMEOUT_SECONDS)
        except Exception as error:
            log.info("observer: cleaning previews on %s: %s", server.name, error)
        finally:
            with contextlib.suppress(Exception):
                await engine.close()
        return cleaned

    async def _claim_server(self, server: Server) -> bool:
        moment = now()
        threshold = moment - timedelta(seconds=self.settings.observer_interval_seconds / 2)
        claimed = await Server.filter(
            Q(last_checked_at__isnull=True) | Q(last_checked_at__lt=threshold), id=server.id
        ).update(last_checked_at=moment)
        return claimed == 1

    # ---- records

    async def _record(self, service: Service, containers: list[ObservedContainer],
                      upstreams: Mapping[int, str | None] | None = None) -> Observation | None:
        baseline = await _baseline(service.id)
        if baseline is None and not containers:
            return None  # never deployed and nothing running: nothing to observe
        verdict = compare(baseline.frozen_input if baseline else None, baseline.id if baseline else None,
                          containers)
        if upstreams is not None and service.id in upstreams and baseline is not None:
            routing = route_differences(baseline.frozen_input, baseline.id, [c.info for c in containers],
                                        upstreams[service.id])
            if routing:
                verdict = Verdict(DriftStatus.DRIFTED, verdict.containers, [*verdict.differences, *routing])
        return await self._store(service.id, verdict, baseline)

    async def _record_unknown(self, service: Service) -> Observation | None:
        baseline = await _baseline(service.id)
        if baseline is None and not await Observation.filter(service_id=service.id).exists():
            return None
        return await self._store(service.id, Verdict(DriftStatus.UNKNOWN), baseline)

    async def _store(self, service_id: int, verdict: Verdict, baseline: Deployment | None) -> Observation:
        observation = await Observation.create(
            service_id=service_id,
            observed_at=now(),
            drift=verdict.drift,
            containers=verdict.containers,
            differences=verdict.differences,
            compared_with_id=baseline.id if baseline else None,
        )
        if self.settings.retention_observations:  # 0 keeps them all (docs/retention.md)
            await prune(service_id, self.settings.retention_observations)
        return observation


async def prune(service_id: int, keep: int = KEEP_OBSERVATIONS) -> int:
    old = await Observation.filter(service_id=service_id).order_by("-observed_at", "-id").offset(keep).values_list(
        "id", flat=True)
    if not old:
        return 0
    return await Observation.filter(id__in=list(old)).delete()


async def _default_engine_factory(server: Server) -> DockerApi:
    from berth.runner.engines import open_engine

    return await open_engine(server)
