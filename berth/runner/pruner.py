"""The retention pass (docs/retention.md): an asyncio task beside the runner, the observer and
the outbox senders, and the body of `berth prune`.

Every `retention_interval_seconds` it runs the database categories of
`berth.domain.retention` (batches of `retention_batch` rows, a short pause between them, so
reads and the runner's writes get the database in between), then the images of each server
(`berth.runner.image_retention`). Several runner processes each run one: a row already
removed is simply not found by the other, so the worst case is a little double work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from berth.domain.retention import OnBatch, PassResult, Prunable, prunables, run_pass
from berth.models import Server
from berth.models.lifecycle import now as wall_clock
from berth.runner.docker_api import DockerApi
from berth.runner.image_retention import EngineFactory, ServerImages, prune_images
from berth.settings import Settings

log = logging.getLogger("berth.retention")

# Between two batches of the background pass: the hot tables are free for this long.
BATCH_PAUSE_SECONDS = 0.05
# The first pass waits this long after the start (or the interval, if shorter): a starting
# process has its own work first.
FIRST_PASS_DELAY_SECONDS = 60.0


@dataclass
class PruneReport:
    at: datetime
    database: PassResult
    images: list[ServerImages] = field(default_factory=list)


async def _default_engine_factory(server: Server) -> DockerApi:
    from berth.runner.engines import open_engine

    return await open_engine(server)


class Pruner:
    def __init__(self, settings: Settings, engine_factory: EngineFactory | None = None, *,
                 clock: Callable[[], datetime] = wall_clock,
                 categories: list[Prunable] | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.categories = prunables(settings) if categories is None else categories
        self.engine_factory = engine_factory or _default_engine_factory
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self.last_report: PruneReport | None = None

    async def run_once(self, *, images: bool = True, pause: float = 0.0, on_batch: OnBatch | None = None,
                       stop: asyncio.Event | None = None) -> PruneReport:
        """One pass now, at the clock's moment."""
        moment = self.clock()
        database = await run_pass(self.categories, moment, self.settings.retention_batch, pause=pause,
                                  on_batch=on_batch, stop=stop)
        report = PruneReport(moment, database)
        if images and (stop is None or not stop.is_set()):
            report.images = await prune_images(self.engine_factory, self.settings.retention_images)
        self.last_report = report
        return report

    async def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._loop(), name="berth-retention")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        delay = min(FIRST_PASS_DELAY_SECONDS, self.settings.retention_interval_seconds)
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
                return
            delay = self.settings.retention_interval_seconds
            try:
                report = await self.run_once(pause=BATCH_PAUSE_SECONDS, stop=self._stop)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("retention pass failed")
                continue
            _log_report(report)


def _log_report(report: PruneReport) -> None:
    for category in report.database.categories:
        if category.error:
            log.warning("retention: %s: %s", category.name, category.error)
        elif category.removed:
            log.info("retention: removed %s %s %s in %s batches", category.removed, category.name,
                     category.cutoff, category.batches)
    for server in report.images:
        if server.error:
            log.info("retention: images on %s: %s", server.server, server.error)
        elif server.removed:
            log.info("retention: removed %s images on %s", len(server.removed), server.server)
