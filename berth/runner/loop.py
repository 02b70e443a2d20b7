"""The runner: claims queued deployments, runs each through the executor, keeps its leases
alive, and reconciles deployments whose runner was lost (CONTRACT §3, Crash safety).

One `Runner` per process. Its tasks:

* claim loop — woken by this process's lifecycle commits (a deployment created or
  concluded here) and by a poll every `runner_poll_seconds` for work committed by other
  processes; claims until nothing is eligible and starts one task per claim.
* heartbeat — every `heartbeat_seconds` renews `lease_expires_at` of each claim it holds,
  fenced by `claimed_by` and `attempt`. A renewal that finds the claim gone means another
  runner reclaimed it (our lease lapsed, e.g. the database was unreachable): the local
  task is cancelled, since every write it makes would be refused anyway.
* reclaim — at start and periodically, deployments whose lease lapsed are taken over
  (a guarded update bumping `attempt`, so the lost run's writes are refused from then on),
  their containers removed by the deployment label, and concluded FAILED/RUNNER_LOST.

Stopping (SIGTERM): claiming stops at once; running deployments get up to
`shutdown_grace_seconds` to finish, with the heartbeat still renewing their leases. What is
left is cancelled and released: a claim that never left QUEUED goes back into the queue
(nothing ran), a started one gets its lease expired so that another runner reclaims it
without waiting for the lease to lapse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from berth.models import Deployment, DeploymentStep, Server
from berth.models.enums import DeploymentConclusion, DeploymentStatus, ErrorCode, LogStream, StepStatus
from berth.models.lifecycle import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    LogEntry,
    StepChange,
    TransitionRefused,
    add_commit_listener,
    append_logs,
    apply_change,
    now,
    remove_commit_listener,
)
from berth.models.sql import get_connection
from berth.runner.claims import Claim, claim_next
from berth.runner.cleanup import Removed, remove_leftovers
from berth.runner.docker_api import DockerApi
from berth.settings import Settings

log = logging.getLogger("berth.runner")

Executor = Callable[[int, int, Settings], Awaitable[None]]
"""`executor(deployment_id, attempt, settings)`: runs one claimed deployment to its conclusion."""
EngineFactory = Callable[[Server], Awaitable[DockerApi]]
AfterDeployment = Callable[[int], Awaitable[Any]]
"""Called with the service id once a deployment of it has finished here (the observer)."""

# How long a lost deployment may wait for its server to answer before it is concluded
# anyway, without its containers checked: a dead server must not block the service forever.
UNREACHABLE_GIVE_UP_LEASES = 10
UNREACHABLE_GIVE_UP_MIN_SECONDS = 300.0
# Bounds on waiting at shutdown: cancelled executor tasks to unwind, the claim and
# reclaim loops to finish what they are in the middle of.
CANCEL_WAIT_SECONDS = 10.0
LOOP_STOP_SECONDS = 10.0


async def real_executor(deployment_id: int, attempt: int, settings: Settings) -> None:
    """The step executor, imported on first use (it pulls in everything the steps need)."""
    from berth.runner.executor import execute_deployment

    await execute_deployment(deployment_id, attempt, settings)


async def default_engine_factory(server: Server) -> DockerApi:
    from berth.runner.engines import open_engine

    return await open_engine(server)


def make_runner_id() -> str:
    host = socket.gethostname()[:80] or "host"
    return f"{host}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass
class _Run:
    claim: Claim
    task: asyncio.Task[None]


class Runner:
    def __init__(
        self,
        settings: Settings,
        executor: Executor | None = None,
        *,
        runner_id: str | None = None,
        engine_factory: EngineFactory | None = None,
        after_deployment: AfterDeployment | None = None,
        reclaim_all_at_start: bool | None = None,
    ) -> None:
        self.settings = settings
        self.id = runner_id or make_runner_id()
        self._executor = executor or real_executor
        self._engine_factory = engine_factory or default_engine_factory
        self._after_deployment = after_deployment
        # On SQLite one process owns the database, so at start every claim held by
        # another runner id is a leftover of a previous run of this process: no need to
        # wait for its lease to lapse.
        self._reclaim_all_at_start = settings.is_sqlite if reclaim_all_at_start is None else reclaim_all_at_start
        self._runs: dict[int, _Run] = {}
        # Claims this runner holds a lease for (deployment id -> attempt): running ones and
        # those being reclaimed; the heartbeat renews exactly these.
        self._held: dict[int, int] = {}
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._force = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._followups: set[asyncio.Task[Any]] = set()
        self.last_heartbeat: float | None = None
        """`time.monotonic()` of the last successful heartbeat (database reached)."""
        self.started = False

    # ------------------------------------------------------------------ public

    @property
    def running_deployments(self) -> list[int]:
        return sorted(self._runs)

    def healthy(self) -> bool:
        """Readiness: the heartbeat reached the database within one lease period."""
        if self.last_heartbeat is None or self._stopping.is_set():
            return False
        return time.monotonic() - self.last_heartbeat < max(self.settings.lease_seconds,
                                                            2 * self.settings.heartbeat_seconds)

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        """First heartbeat and reclaim pass, then the background loops."""
        if self.started:
            raise RuntimeError("runner already started")
        self.started = True
        add_commit_listener(self._on_commit)
        await self.heartbeat()
        try:
            await self.reclaim(ignore_lease=self._reclaim_all_at_start)
        except Exception:  # a failed pass is retried by the loop; starting matters more
            log.exception("runner %s: reclaim at start failed", self.id)
        self._heartbeat_task = asyncio.create_task(self._heartbeat_loop(), name=f"runner-heartbeat {self.id}")
        self._loops = [
            asyncio.create_task(self._claim_loop(), name=f"runner-claims {self.id}"),
            asyncio.create_task(self._reclaim_loop(), name=f"runner-reclaim {self.id}"),
        ]
        log.info("runner %s started", self.id)

    async def stop(self, grace: float | None = None) -> None:
        """Stop claiming; give running deployments `grace` seconds; leave the rest for reclaim."""
        if not self.started or self._stopping.is_set():
            return
        grace = self.settings.shutdown_grace_seconds if grace is None else grace
        self._stopping.set()
        self._wake.set()
        remove_commit_listener(self._on_commit)
        # The loops see `_stopping` and end after the claim or reclaim they are in the
        # middle of; cancelling them mid-transaction would only make more to clean up.
        _, stuck = await asyncio.wait(self._loops, timeout=LOOP_STOP_SECONDS)
        await _cancel_all(list(stuck))
        runs = [run.task for run in self._runs.values()]
        if runs:
            log.info("runner %s stopping: waiting up to %gs for %d deployment(s)", self.id, grace, len(runs))
            await self._wait_for(runs, grace)
        abandoned = [run for run in self._runs.values() if not run.task.done()]
        for run in abandoned:
            log.warning("runner %s: deployment %d did not finish within the grace period; "
                        "leaving it to be reclaimed", self.id, run.claim.deployment_id)
            run.task.cancel()
        if abandoned:
            await asyncio.wait([run.task for run in abandoned], timeout=CANCEL_WAIT_SECONDS)
        # The heartbeat kept the leases alive through the grace period; now they go.
        if self._heartbeat_task is not None:
            await _cancel_all([self._heartbeat_task])
        for run in abandoned:
            await self._release(run.claim)
        await _cancel_all(list(self._followups))
        log.info("runner %s stopped", self.id)

    def force_stop(self) -> None:
        """Cut the grace period short (a second SIGTERM / SIGINT)."""
        self._force.set()

    # ------------------------------------------------------------------ claiming

    def _on_commit(self, deployment_id: int, event_seq: int | None, log_seq: int | None) -> None:
        # Events (created, superseded, concluded) can make work claimable; log lines cannot.
        if event_seq is not None:
            self._wake.set()

    async def claim_available(self) -> list[Claim]:
        """Claim everything eligible right now and start running it."""
        claims: list[Claim] = []
        while not self._stopping.is_set():
            claim = await claim_next(self.id, self.settings.lease_seconds)
            if claim is None:
                break
            if self._stopping.is_set():  # claimed while stopping began: hand it straight back
                await self._release(claim)
                break
            log.info("runner %s claimed deployment %d (attempt %d)", self.id, claim.deployment_id, claim.attempt)
            self._held[claim.deployment_id] = claim.attempt
            task = asyncio.create_task(self._run(claim), name=f"deployment {claim.deployment_id}")
            self._runs[claim.deployment_id] = _Run(claim, task)
            claims.append(claim)
        return claims

    async def _claim_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                await self.claim_available()
            except Exception:  # the database may be away for a moment; try again next round
                log.exception("runner %s: claiming failed", self.id)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.runner_poll_seconds)

    async def _run(self, claim: Claim) -> None:
        failure: str | None = None
        try:
            await self._executor(claim.deployment_id, claim.attempt, self.settings)
        except asyncio.CancelledError:
            # Shutdown past its grace period, or the claim was taken over: not ours to conclude.
            self._forget(claim)
            raise
        except TransitionRefused as refused:
            # Superseded or canceled between the claim and its first move: nothing ran.
            log.info("runner %s: deployment %d changed under it: %s", self.id, claim.deployment_id, refused)
        except Exception as error:  # an executor bug must not leave the deployment running
            log.exception("runner %s: executor failed on deployment %d", self.id, claim.deployment_id)
            failure = f"the runner failed: {type(error).__name__}: {error}"
        try:
            current = await Deployment.filter(id=claim.deployment_id).only(
                "id", "status", "claimed_by", "attempt").first()
            if (current is not None and current.status not in TERMINAL_STATUSES
                    and current.claimed_by == self.id and current.attempt == claim.attempt):
                # The executor returned without concluding: reconcile at once rather than
                # letting the lease lapse first.
                await self._reconcile(claim.deployment_id, claim.attempt,
                                      failure or "the runner stopped before the deployment concluded")
        except Exception:
            log.exception("runner %s: reconciling deployment %d failed", self.id, claim.deployment_id)
        finally:
            self._forget(claim)
        self._wake.set()
        if self._after_deployment is not None and not self._stopping.is_set():
            followup = asyncio.create_task(self._follow_up(claim.service_id))
            self._followups.add(followup)
            followup.add_done_callback(self._followups.discard)

    async def _follow_up(self, service_id: int) -> None:
        assert self._after_deployment is not None
        try:
            await self._after_deployment(service_id)
        except Exception:
            log.exception("runner %s: after-deployment hook failed for service %d", self.id, service_id)

    def _forget(self, claim: Claim) -> None:
        run = self._runs.get(claim.deployment_id)
        if run is not None and run.claim.attempt == claim.attempt:
            del self._runs[claim.deployment_id]
        if self._held.get(claim.deployment_id) == claim.attempt:
            del self._held[claim.deployment_id]

    async def _wait_for(self, tasks: list[asyncio.Task[None]], seconds: float) -> None:
        """Wait until the tasks are done, `seconds` have passed, or force_stop() was called."""
        deadline = time.monotonic() + seconds
        force: asyncio.Task[Any] = asyncio.create_task(self._force.wait())
        try:
            pending: set[asyncio.Task[Any]] = {task for task in tasks if not task.done()}
            while pending and not self._force.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                _, still = await asyncio.wait({*pending, force}, timeout=left,
                                              return_when=asyncio.FIRST_COMPLETED)
                pending = {task for task in still if task is not force}
        finally:
            force.cancel()

    # ------------------------------------------------------------------ leases

    async def heartbeat(self) -> None:
        """Renew every held lease (fenced by claimed_by + attempt); prove the database answers."""
        expires = now() + timedelta(seconds=self.settings.lease_seconds)
        for deployment_id, attempt in list(self._held.items()):
            renewed = await Deployment.filter(
                id=deployment_id, claimed_by=self.id, attempt=attempt, status__in=list(ACTIVE_STATUSES)
            ).update(lease_expires_at=expires)
            if renewed:
                continue
            current = await Deployment.filter(id=deployment_id).only("id", "claimed_by", "attempt").first()
            lost = current is None or current.claimed_by != self.id or current.attempt != attempt
            run = self._runs.get(deployment_id)
            if lost and run is not None and not run.task.done():
                log.warning("runner %s lost its claim on deployment %d (attempt %d): stopping it",
                            self.id, deployment_id, attempt)
                run.task.cancel()
        if not self._held:
            await get_connection().execute_query("SELECT 1")
        self.last_heartbeat = time.monotonic()

    async def _heartbeat_loop(self) -> None:
        # Not ended by `_stopping`: it renews the leases of deployments finishing in the grace period.
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            try:
                await self.heartbeat()
            except Exception as error:  # the database is away: readiness turns stale
                log.warning("runner %s: heartbeat failed: %s", self.id, error)

    async def _release(self, claim: Claim) -> None:
        """Let go of a claim this runner will not finish.

        Still QUEUED (nothing ran): back into the queue, unclaimed. Started: the lease is
        expired at once, so another runner reclaims it without waiting for it to lapse.
        Both are fenced by claimed_by + attempt.
        """
        self._held.pop(claim.deployment_id, None)
        mine = {"id": claim.deployment_id, "claimed_by": self.id, "attempt": claim.attempt}
        try:
            requeued = await Deployment.filter(**mine, status=DeploymentStatus.QUEUED).update(
                claimed_by=None, lease_expires_at=None)
            if not requeued:
                await Deployment.filter(**mine, status__in=list(ACTIVE_STATUSES)).update(lease_expires_at=now())
        except Exception as error:  # the lease lapses on its own then
            log.warning("runner %s: could not release deployment %d: %s", self.id, claim.deployment_id, error)

    # ------------------------------------------------------------------ reclaim

    async def _reclaim_loop(self) -> None:
        interval = max(0.2, min(self.settings.heartbeat_seconds, self.settings.lease_seconds / 2))
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=interval)
            if self._stopping.is_set():
                break
            try:
                await self.reclaim()
            except Exception:
                log.exception("runner %s: reclaim pass failed", self.id)

    async def reclaim(self, *, ignore_lease: bool = False) -> list[int]:
        """Conclude every deployment whose runner was lost; returns their ids.

        `ignore_lease`: every claim but this runner's own counts as lost (SQLite at start).
        """
        moment = now()
        query = Deployment.filter(status__in=list(ACTIVE_STATUSES), claimed_by__not_isnull=True)
        if not ignore_lease:
            query = query.filter(lease_expires_at__lt=moment)
        candidates = await query.order_by("id").only(
            "id", "claimed_by", "attempt", "lease_expires_at", "server_id", "status", "frozen_input")
        done: list[int] = []
        for row in candidates:
            if row.id in self._runs or (row.claimed_by == self.id and row.id in self._held):
                continue
            if await self._reclaim_one(row, ignore_lease=ignore_lease):
                done.append(row.id)
        return done

    async def _reclaim_one(self, row: Deployment, *, ignore_lease: bool) -> bool:
        server = await Server.get(id=row.server_id)  # type: ignore[attr-defined]
        engine: DockerApi | None = None
        unreachable: str | None = None
        try:
            engine = await self._engine_factory(server)
        except Exception as error:  # EndpointError and friends: the server does not answer
            unreachable = str(error) or type(error).__name__
            lapsed_since = row.lease_expires_at or now()
            waited = (now() - lapsed_since).total_seconds()
            give_up = max(UNREACHABLE_GIVE_UP_MIN_SECONDS, UNREACHABLE_GIVE_UP_LEASES * self.settings.lease_seconds)
            if waited < give_up:
                log.warning("runner %s: deployment %d lost its runner, but server %s does not answer "
                            "(%s); retrying", self.id, row.id, server.name, unreachable)
                return False
        try:
            attempt = await self._take_over(row, ignore_lease=ignore_lease)
            if attempt is None:
                return False
            self._held[row.id] = attempt
            try:
                if engine is not None:
                    removed = await remove_leftovers(engine, row.id, _compose_project(row))
                else:
                    removed = Removed(problems=[f"server {server.name} did not answer: {unreachable}"])
                await self._conclude_lost(row.id, attempt, row.claimed_by or "?", removed)
            finally:
                self._held.pop(row.id, None)
            return True
        finally:
            if engine is not None:
                with contextlib.suppress(Exception):
                    await engine.close()

    async def _take_over(self, row: Deployment, *, ignore_lease: bool) -> int | None:
        """Become the deployment's claimant with the next attempt, or None if someone else did."""
        query = Deployment.filter(
            id=row.id, claimed_by=row.claimed_by, attempt=row.attempt, status__in=list(ACTIVE_STATUSES)
        )
        if not ignore_lease:
            query = query.filter(lease_expires_at__lt=now())
        taken = await query.update(
            claimed_by=self.id,
            attempt=row.attempt + 1,
            lease_expires_at=now() + timedelta(seconds=self.settings.lease_seconds),
        )
        return row.attempt + 1 if taken == 1 else None

    async def _reconcile(self, deployment_id: int, attempt: int, message: str) -> None:
        """Clean up and conclude a deployment this runner holds but that will not finish."""
        deployment = await Deployment.get(id=deployment_id)
        server = await Server.get(id=deployment.server_id)  # type: ignore[attr-defined]
        try:
            engine = await self._engine_factory(server)
        except Exception as error:
            removed = Removed(problems=[f"server {server.name} did not answer: {error}"])
        else:
            try:
                removed = await remove_leftovers(engine, deployment_id, _compose_project(deployment))
            finally:
                with contextlib.suppress(Exception):
                    await engine.close()
        await self._conclude(deployment_id, attempt, message, removed)

    async def _conclude_lost(self, deployment_id: int, attempt: int, lost_runner: str, removed: Removed) -> None:
        await self._conclude(deployment_id, attempt, f"runner {lost_runner} was lost (its lease lapsed)", removed)

    async def _conclude(self, deployment_id: int, attempt: int, message: str, removed: Removed) -> None:
        """FAILED/RUNNER_LOST: the running step FAILED, the pending ones SKIPPED."""
        deployment = await Deployment.get(id=deployment_id)
        if deployment.status in TERMINAL_STATUSES:
            return
        lines = [f"{message}; concluding the deployment as RUNNER_LOST", *removed.summary()]
        with contextlib.suppress(TransitionRefused):
            await append_logs(deployment_id, [LogEntry(text, LogStream.SYSTEM) for text in lines], attempt=attempt)
        steps = await DeploymentStep.filter(deployment_id=deployment_id).order_by("position")
        running = [step for step in steps if step.status == StepStatus.RUNNING]
        changes = [StepChange(step.kind, StepStatus.FAILED) for step in running]
        changes += [StepChange(step.kind, StepStatus.SKIPPED) for step in steps if step.status == StepStatus.PENDING]
        error = {
            "step": str(running[0].kind) if running else None,
            "code": str(ErrorCode.RUNNER_LOST),
            "message": "; ".join(lines),
        }
        try:
            await apply_change(
                deployment_id,
                from_status=DeploymentStatus(deployment.status),
                to_status=DeploymentStatus.FAILED,
                conclusion=DeploymentConclusion.FAILED,
                error=error,
                steps=changes,
                attempt=attempt,
            )
        except TransitionRefused as refused:
            # Concluded meanwhile (a cancel while QUEUED): nothing left to do.
            log.info("runner %s: deployment %d concluded meanwhile: %s", self.id, deployment_id, refused)
            return
        log.warning("runner %s: deployment %d concluded FAILED/RUNNER_LOST (%s)", self.id, deployment_id, message)


def _compose_project(deployment: Deployment) -> str | None:
    """The compose project a COMPOSE deployment runs as (its networks are cleaned up too)."""
    project = (deployment.frozen_input or {}).get("composeProject")
    return str(project) if project else None


async def _cancel_all(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
