"""Background services of a Berth process, started and stopped by the app's lifespan,
and the standalone `berth runner` process.

`berth serve` enters `background_services(settings)`: local wake-ups for subscribers, and
(unless `--no-runner`) the runner with its observer, the retention pass, the commit-status
sender and the notification sender. `berth runner` runs the same without the API (`run_standalone`), until
SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from berth.events.broker import on_commit
from berth.events.pg_listener import pg_wakeups
from berth.models.lifecycle import add_commit_listener, remove_commit_listener
from berth.runner.loop import EngineFactory, Executor, Runner
from berth.runner.notification_sender import NotificationSender
from berth.runner.observer import Observer
from berth.runner.pruner import Pruner
from berth.runner.status_sender import StatusSender
from berth.settings import Settings

log = logging.getLogger("berth.runner")

ReadinessProbe = Callable[[], bool]


@contextlib.asynccontextmanager
async def local_wakeups(settings: Settings) -> AsyncIterator[None]:
    """Changes committed by this process wake this process's subscribers."""
    add_commit_listener(on_commit)
    try:
        yield
    finally:
        remove_commit_listener(on_commit)


class RunnerService:
    """The runner, the observer and the outbox senders as one background service.

    Call it with the settings for the async context manager the lifespan enters; `runner`
    is the live Runner while it runs, and `ready()` is the readiness probe (/readyz).
    """

    def __init__(
        self,
        executor: Executor | None = None,
        *,
        engine_factory: EngineFactory | None = None,
        observe: bool = True,
    ) -> None:
        self._executor = executor
        self._engine_factory = engine_factory
        self._observe = observe
        self.runner: Runner | None = None
        self.observer: Observer | None = None
        self.status_sender: StatusSender | None = None
        self.notification_sender: NotificationSender | None = None
        self.pruner: Pruner | None = None

    def ready(self) -> bool:
        return self.runner is not None and self.runner.healthy()

    @contextlib.asynccontextmanager
    async def __call__(self, settings: Settings) -> AsyncIterator[RunnerService]:
        observer = Observer(settings, self._engine_factory) if self._observe else None
        runner = Runner(
            settings,
            self._executor,
            engine_factory=self._engine_factory,
            after_deployment=observer.observe_service if observer else None,
        )
        sender = StatusSender(settings)
        notifier = NotificationSender(settings)
        # Retention runs where the observer does: the process that talks to the servers.
        pruner = Pruner(settings, self._engine_factory) if self._observe else None
        await runner.start()
        self.runner, self.observer, self.status_sender = runner, observer, sender
        self.notification_sender = notifier
        self.pruner = pruner
        if observer is not None:
            await observer.start()
        if pruner is not None:
            await pruner.start()
        await sender.start()
        await notifier.start()
        try:
            yield self
        finally:
            if pruner is not None:
                await pruner.stop()
            if observer is not None:
                await observer.stop()
            await runner.stop()
            # Last: the statuses and notifications of deployments concluded while the runner
            # stopped still go.
            await asyncio.gather(sender.stop(), notifier.stop())
            self.runner = None
            self.observer = None
            self.status_sender = None
            self.notification_sender = None
            self.pruner = None


def background_services(settings: Settings, runner: bool = True) -> list[Any]:
    # pg_wakeups: wake-ups from every other process over LISTEN/NOTIFY (a no-op on SQLite).
    services: list[Any] = [local_wakeups, pg_wakeups]
    if runner:
        services.append(RunnerService())
    return services


def readiness_probes(services: Iterable[Any]) -> dict[str, ReadinessProbe]:
    """The /readyz probes of the background services (the runner's heartbeat)."""
    probes: dict[str, ReadinessProbe] = {}
    for service in services:
        if isinstance(service, RunnerService):
            probes["runner"] = service.ready
    return probes


async def run_standalone(
    settings: Settings,
    *,
    executor: Executor | None = None,
    engine_factory: EngineFactory | None = None,
) -> None:
    """`berth runner`: migrations, then the runner and observer until SIGTERM / SIGINT.

    The first signal stops claiming and gives running deployments the grace period; a
    second one cuts the grace period short.
    """
    from berth.crypto import get_keyring
    from berth.db import apply_migrations, close_db, open_db

    get_keyring(settings)  # a bad key should stop the start, not the first deployment
    await apply_migrations(settings.database_url)
    await open_db(settings)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    service = RunnerService(executor, engine_factory=engine_factory)

    def on_signal(signum: int) -> None:
        if stop.is_set():
            log.warning("second %s: stopping without waiting for running deployments",
                        signal.Signals(signum).name)
            if service.runner is not None:
                service.runner.force_stop()
            return
        log.info("%s: stopping the runner", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        async with service(settings):
            await stop.wait()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await close_db()
