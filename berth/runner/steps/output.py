"""The new containers' own output, from START until the deployment concludes, into its log."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from berth.runner.docker_api import DockerApi
from berth.runner.log_writer import LogWriter

log = logging.getLogger(__name__)

STOP_WAIT_SECONDS = 3.0


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
                await docker.container_logs(container_id, on_line=on_line, stop=self._stop)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the container is gone: its output ends here
                log.debug("output of %s ended: %s", container_id, exc)

        self._tasks[container_id] = asyncio.create_task(run(), name=f"output-{container_id[:12]}")

    async def stop(self) -> None:
        """Close every stream (the lines received so far are in the writer's buffer)."""
        self._stop.set()
        tasks = list(self._tasks.values())
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=STOP_WAIT_SECONDS)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
