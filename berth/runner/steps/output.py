"""The new containers' own output, from START until the deployment concludes, into its log."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from berth.runner.docker_api import DockerApi
from berth.runner.log_writer import LogWriter

log = logging.getLogger(__name__)

# After following stops, the last lines Docker logged but had not sent are read once
# more (see `DockerApi.container_logs`); this bounds that read.
DRAIN_SECONDS = 10.0
# A cancel has 5 s in all: its output gets only this long before the streams are cut.
CANCEL_DRAIN_SECONDS = 1.5


class OutputFollower:
    def __init__(self, writer: LogWriter) -> None:
        self._writer = writer
        self._stop = asyncio.Event()
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def follow(self, docker: DockerApi, container_id: str) -> None:
        if container_id in self._tasks or self._stop.is_set():
            return
        # No step given: each line belongs to whichever step runs when it arrives.
        on_line = self._writer.on_line()

        async def run() -> None:
            try:
                await docker.container_logs(container_id, on_line=on_line, stop=self._stop,
                                            drain_seconds=DRAIN_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the container is gone: its output ends here
                log.debug("output of %s ended: %s", container_id, exc)

        self._tasks[container_id] = asyncio.create_task(run(), name=f"output-{container_id[:12]}")

    async def stop(self, *, within: float = DRAIN_SECONDS + 2.0) -> None:
        """Stop following, once every stream delivered what its container had written so
        far into the writer's buffer, or `within` seconds have passed (then cut them)."""
        self._stop.set()
        tasks = [task for task in self._tasks.values() if not task.done()]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=within)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
