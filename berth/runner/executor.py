"""Running one claimed deployment to its conclusion (CONTRACT §3) — the runner loop's entry point.

    await execute_deployment(deployment_id, attempt, settings, on_concluded=...)

Precondition: the loop has claimed the deployment (still QUEUED, `attempt` on the row,
lease held). This moves it QUEUED → PREPARE → DEPLOY → FINALIZE → COMPLETED, or to
FAILED with the failed (or canceled) step, the rest SKIPPED and an error, each in one
guarded `apply_change` fenced by `attempt`. It never raises, except
`asyncio.CancelledError` (shutdown): then the deployment is left as it is, to be reclaimed.

* Lost claim: a fenced write refused means another runner (or the reclaimer) owns the
  deployment now; we stop at once and touch nothing more.
* Cancel: a watcher polls `cancel_requested_at`; steps get the cancel event (it kills the
  clone/build/pull/compose child or stream), and a step that does not stop by itself
  within a short grace is cancelled. Then what this run started is removed, the previous
  version put back, and the deployment concludes FAILED/CANCELED.
* Logs are buffered and written in batches, and all of them are written before the
  deployment concludes (a concluded deployment takes no more lines).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from berth.models import Deployment
from berth.models.enums import (
    STEP_ORDER,
    DeploymentConclusion,
    DeploymentStatus,
    ErrorCode,
    StepKind,
    StepStatus,
)
from berth.models.lifecycle import (
    TERMINAL_STATUSES,
    StepChange,
    TransitionRefused,
    apply_change,
    remaining_step_changes,
)
from berth.runner.docker_api import Canceled, RunnerError, StepTimeout
from berth.runner.engines import open_engine
from berth.runner.run_metrics import RunMetrics
from berth.runner.steps.context import STEP_ERROR_CODES, OpenDocker, RunContext, StepFailure, new_context
from berth.runner.steps.output import CANCEL_DRAIN_SECONDS, DRAIN_SECONDS
from berth.runner.steps.plan import Pipeline, Step, pipeline_for, step_limit
from berth.settings import Settings

log = logging.getLogger(__name__)

OnConcluded = Callable[[int], Awaitable[None]]

CANCEL_POLL_SECONDS = 0.5
# After the cancel event is set, how long a step may take to stop on its own before its
# task is cancelled (the Docker seam promises a few seconds).
CANCEL_GRACE_SECONDS = 3.0
UNDO_SECONDS = 120.0
SHUTDOWN_FLUSH_SECONDS = 2.0
MAX_DETAIL_CHARS = 300

# Status a step runs in, when it is the first step of that status.
_STATUS_OF_STEP = {StepKind.VOLUME: DeploymentStatus.DEPLOY, StepKind.HEALTH: DeploymentStatus.FINALIZE}


async def execute_deployment(
    deployment_id: int,
    attempt: int,
    settings: Settings,
    on_concluded: OnConcluded | None = None,
    *,
    open_docker: OpenDocker | None = None,
) -> None:
    """Drive a claimed deployment to its conclusion; `on_concluded(service_id)` runs after it
    concluded (e.g. to observe the service). `open_docker(server)` replaces the real engine
    in tests."""
    try:
        cancel = asyncio.Event()
        ctx = await new_context(deployment_id, attempt, settings, cancel, open_docker or open_engine)
        concluded = await _Run(ctx, pipeline_for(ctx)).execute()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("deployment %s (attempt %s) could not be run", deployment_id, attempt)
        return
    if concluded and on_concluded is not None:
        try:
            await on_concluded(ctx.service.id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("after deployment %s: the on_concluded hook failed", deployment_id)


class _LostClaim(Exception):
    """A fenced write was refused: the deployment is not ours any more."""


@dataclass
class _Ended(Exception):
    """The run stops at `kind` (failed, timed out or canceled)."""

    kind: StepKind
    code: ErrorCode
    message: str
    running: bool = True
    """Whether the step had started (RUNNING) or was still PENDING."""

    @property
    def canceled(self) -> bool:
        return self.code == ErrorCode.CANCELED


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= MAX_DETAIL_CHARS else line[: MAX_DETAIL_CHARS - 1] + "…"


class _Run:
    def __init__(self, ctx: RunContext, pipeline: Pipeline) -> None:
        self.ctx = ctx
        self.pipeline = pipeline
        self.status = DeploymentStatus.QUEUED
        self.metrics = RunMetrics(ctx.source_type)

    # ---- the whole run

    async def execute(self) -> bool:
        """True once the deployment has concluded; False when it was not ours to conclude."""
        ctx = self.ctx
        ctx.log.start()
        watcher = asyncio.create_task(self._watch_cancel(), name=f"cancel-watch-{ctx.deployment_id}")
        try:
            try:
                await self._begin()
                *steps, last = self.pipeline.steps
                for step in steps:
                    await self._run_step(step)
                await self._finalize(last)
            except _Ended as ended:
                await self._end(ended)
            return True
        except _LostClaim as lost:
            log.warning("deployment %s: %s; leaving it alone", ctx.deployment_id, lost)
            ctx.log.discard()
            return False
        except asyncio.CancelledError:
            await self._shutdown()
            raise
        except Exception:
            # The database or something equally basic failed outside a step: nothing can be
            # recorded now; the lease runs out and the deployment is reclaimed.
            log.exception("deployment %s failed outside its steps", ctx.deployment_id)
            ctx.log.discard()
            return False
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await ctx.output.stop()
            await ctx.close()

    async def _change(self, **changes: Any) -> None:
        try:
            await apply_change(self.ctx.deployment_id, attempt=self.ctx.attempt, **changes)
        except TransitionRefused as refused:
            raise _LostClaim(str(refused)) from None
        self.metrics.recorded(changes.get("steps", ()), changes.get("conclusion"))

    async def _begin(self) -> None:
        ctx = self.ctx
        skipped = [StepChange(kind, StepStatus.SKIPPED, self.pipeline.not_applicable[kind])
                   for kind in STEP_ORDER if kind in self.pipeline.not_applicable]
        await self._change(from_status=DeploymentStatus.QUEUED, to_status=DeploymentStatus.PREPARE, steps=skipped)
        self.status = DeploymentStatus.PREPARE
        deployment = ctx.deployment
        what = ctx.frozen.get("image") or ctx.frozen.get("repository") or "inline compose content"
        ctx.log.system(f"deployment {ctx.name_of(deployment.number)} ({ctx.source_type} "
                       f"{what}) to server {ctx.server.name}, attempt {ctx.attempt}")
        if deployment.rollback_of_id is not None:  # type: ignore[attr-defined]
            ctx.log.system(f"rollback: replaying the frozen input of deployment {await self._replayed_name()}")
        for kind, reason in self.pipeline.not_applicable.items():
            ctx.log.system(f"{kind} skipped: {reason}", kind)

    async def _replayed_name(self) -> str:
        # The snapshot names the replayed deployment; older records only have its id.
        replayed = (self.ctx.deployment.config_snapshot or {}).get("rollbackOf") or {}
        number = replayed.get("number")
        if not isinstance(number, int):
            pk = self.ctx.deployment.rollback_of_id  # type: ignore[attr-defined]
            number = (await Deployment.get(id=pk)).number
        return self.ctx.name_of(number)

    # ---- one step

    async def _run_step(self, step: Step) -> None:
        ctx = self.ctx
        kind = step.kind
        if ctx.lost.is_set():
            raise _LostClaim(f"lost the claim before {kind}")
        if ctx.cancel.is_set():
            raise _Ended(kind, ErrorCode.CANCELED, f"canceled before {kind}", running=False)
        reason, early_failure = await self._skip_check(step)
        if reason:
            await self._change(from_status=self.status, steps=[StepChange(kind, StepStatus.SKIPPED, reason)],
                               updates=ctx.take_updates())
            ctx.log.system(f"{kind} skipped: {reason}", kind)
            return
        await self._start_step(kind)
        if early_failure is not None:
            raise self._failure(kind, early_failure)
        detail = ctx.log.mask(_first_line(await self._body(step)))
        if ctx.cancel.is_set():
            # The step finished just as the cancel came: its work is undone all the same.
            raise _Ended(kind, ErrorCode.CANCELED, f"canceled during {kind}")
        ctx.log.system(f"{kind} succeeded: {detail}", kind)
        await self._change(from_status=self.status, steps=[StepChange(kind, StepStatus.SUCCEEDED, detail)],
                           updates=ctx.take_updates())

    async def _skip_check(self, step: Step) -> tuple[str | None, Exception | None]:
        if step.skip is None:
            return None, None
        try:
            return await step.skip(self.ctx), None
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # reported as the step's failure once it has started
            return None, exc

    async def _start_step(self, kind: StepKind) -> None:
        ctx = self.ctx
        target = _STATUS_OF_STEP.get(kind)
        move = {"to_status": target} if target is not None and target != self.status else {}
        await self._change(from_status=self.status, steps=[StepChange(kind, StepStatus.RUNNING)],
                           updates=ctx.take_updates(), **move)
        self.status = target or self.status
        self.metrics.step_started(kind)
        ctx.step = kind
        ctx.log.step = kind
        ctx.log.system(f"{kind} started", kind)

    async def _body(self, step: Step) -> str:
        """Run the step's work under its deadline, stopping it when a cancel comes."""
        ctx, kind = self.ctx, step.kind
        limit = step_limit(ctx, kind)
        task = asyncio.create_task(step.run(ctx), name=f"{kind}-{ctx.deployment_id}")
        cancel_wait = asyncio.create_task(ctx.cancel.wait())
        lost_wait = asyncio.create_task(ctx.lost.wait())
        try:
            done, _ = await asyncio.wait({task, cancel_wait, lost_wait}, timeout=limit,
                                         return_when=asyncio.FIRST_COMPLETED)
            if task not in done:
                if ctx.lost.is_set():
                    await _stop(task)
                    raise _LostClaim(f"lost the claim during {kind}")
                if ctx.cancel.is_set():
                    # The step was handed the cancel event: give it a moment to stop cleanly.
                    await asyncio.wait({task}, timeout=CANCEL_GRACE_SECONDS)
                    await _stop(task)
                    raise _Ended(kind, ErrorCode.CANCELED, f"canceled during {kind}")
                await _stop(task)
                raise _Ended(kind, ErrorCode.TIMEOUT, f"{kind} did not finish within {limit:g} s")
            return task.result()
        except (_Ended, _LostClaim):
            raise
        except asyncio.CancelledError:
            if not task.done():
                await _stop(task)
                raise
            if ctx.cancel.is_set() and task.cancelled():
                raise _Ended(kind, ErrorCode.CANCELED, f"canceled during {kind}") from None
            raise
        except Exception as exc:
            raise self._failure(kind, exc) from None
        finally:
            cancel_wait.cancel()
            lost_wait.cancel()

    def _failure(self, kind: StepKind, exc: BaseException) -> _Ended | _LostClaim:
        code = STEP_ERROR_CODES[kind]
        if isinstance(exc, TransitionRefused):
            return _LostClaim(str(exc))
        if isinstance(exc, Canceled):
            return _Ended(kind, ErrorCode.CANCELED, f"canceled during {kind}")
        if isinstance(exc, StepTimeout):
            return _Ended(kind, ErrorCode.TIMEOUT, exc.message)
        if isinstance(exc, StepFailure):
            return _Ended(kind, exc.code or code, exc.message)
        if isinstance(exc, RunnerError):
            return _Ended(kind, code, exc.message)
        log.error("deployment %s: unexpected error in %s", self.ctx.deployment_id, kind, exc_info=exc)
        return _Ended(kind, code, f"internal error in {kind}: {type(exc).__name__}: {exc}")

    # ---- FINALIZE and concluding

    async def _finalize(self, step: Step) -> None:
        ctx = self.ctx
        kind = step.kind
        if ctx.cancel.is_set():
            raise _Ended(kind, ErrorCode.CANCELED, f"canceled before {kind}", running=False)
        await self._start_step(kind)
        # Once FINALIZE has started the API refuses a cancel; one it accepted just before
        # is honoured here.
        if await self._cancel_requested():
            raise _Ended(kind, ErrorCode.CANCELED, f"canceled before {kind} could run")
        if ctx.lost.is_set():
            raise _LostClaim(f"lost the claim before {kind}")
        try:
            detail = await self._body(step)
        except _Ended as problem:
            # The new version is healthy and serving: a retire or prune that went wrong is
            # worth a line in the log, not a failed deployment.
            ctx.log.system(f"FINALIZE: {problem.message}", kind)
            detail = f"finished with problems: {_first_line(problem.message)}"
        detail = ctx.log.mask(_first_line(detail))
        await ctx.output.stop()  # the new containers' output up to now, before the last words
        ctx.log.system(f"{kind} succeeded: {detail}", kind)
        ctx.log.system("deployment succeeded", kind)
        await ctx.log.close()
        await self._change(
            from_status=DeploymentStatus.FINALIZE,
            to_status=DeploymentStatus.COMPLETED,
            conclusion=DeploymentConclusion.SUCCEEDED,
            steps=[StepChange(kind, StepStatus.SUCCEEDED, detail)],
            updates=ctx.take_updates(),
        )

    async def _end(self, ended: _Ended) -> None:
        ctx = self.ctx
        ctx.log.system(f"{ended.kind} {'canceled' if ended.canceled else 'failed'}: {ended.message}", ended.kind)
        # The new containers' output up to now, before undoing removes them.
        await ctx.output.stop(within=CANCEL_DRAIN_SECONDS if ended.canceled else DRAIN_SECONDS)
        note = await self._undo(ended.canceled)
        # What went wrong, what was done about it, then the details (e.g. container output).
        head, _, details = ended.message.strip().partition("\n")
        message = ctx.log.mask("\n".join(part for part in (head, note, details) if part))
        ctx.log.system(f"deployment {'canceled' if ended.canceled else 'failed'} ({ended.code} at {ended.kind})",
                       ended.kind)
        await ctx.log.close()
        if ended.canceled:
            status, conclusion = StepStatus.CANCELED, DeploymentConclusion.CANCELED
        else:
            status, conclusion = StepStatus.FAILED, DeploymentConclusion.FAILED
        steps = [StepChange(ended.kind, status, _first_line(message))]
        steps += [change for change in await remaining_step_changes(ctx.deployment_id) if change.kind != ended.kind]
        await self._change(
            from_status=self.status,
            to_status=DeploymentStatus.FAILED,
            conclusion=conclusion,
            error={"step": str(ended.kind), "code": str(ended.code), "message": message},
            steps=steps,
            updates=ctx.take_updates(),
        )

    async def _undo(self, canceled: bool) -> str | None:
        ctx = self.ctx
        try:
            return await asyncio.wait_for(self.pipeline.undo(ctx, canceled), timeout=UNDO_SECONDS)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("deployment %s: cleanup failed", ctx.deployment_id, exc_info=True)
            reason = exc.message if isinstance(exc, RunnerError | StepFailure) else f"{type(exc).__name__}: {exc}"
            note = f"cleaning up after the failure failed: {reason}"
            ctx.log.system(note)
            return note

    async def _shutdown(self) -> None:
        """The process is stopping: keep what was logged so far, conclude nothing."""
        ctx = self.ctx
        ctx.log.system("runner shutting down: the deployment is left to be reclaimed")
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(ctx.log.close(attempts=1), timeout=SHUTDOWN_FLUSH_SECONDS)

    # ---- cancel requests

    async def _cancel_requested(self) -> bool:
        """Reads the row: True when a cancel was requested; notes a lost claim on the way."""
        rows = await Deployment.filter(id=self.ctx.deployment_id).values_list(
            "cancel_requested_at", "attempt", "status"
        )
        if not rows:
            self.ctx.lost.set()
            return False
        requested_at, attempt, status = rows[0]
        # Another attempt, or concluded (by the reclaimer; our own conclusion ends the
        # watcher before it could look): no longer ours.
        if attempt != self.ctx.attempt or status in TERMINAL_STATUSES:
            self.ctx.lost.set()
        return requested_at is not None

    async def _watch_cancel(self) -> None:
        """Polls the row for a cancel request (and for losing the claim) until either."""
        ctx = self.ctx
        while not ctx.lost.is_set():
            try:
                if await self._cancel_requested() and not ctx.cancel.is_set():
                    ctx.log.system(f"cancel requested: stopping {ctx.step or 'the deployment'}")
                    ctx.cancel.set()
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup: look again next time
                log.debug("deployment %s: cancel check failed", ctx.deployment_id, exc_info=True)
            await asyncio.sleep(CANCEL_POLL_SECONDS)


async def _stop(task: asyncio.Task[Any]) -> None:
    """Cancel a step's task and wait for it, without swallowing our own cancellation."""
    if not task.done():
        task.cancel()
    await asyncio.wait({task})
    if not task.cancelled():
        task.exception()  # retrieved: its outcome no longer matters
