"""Slow servers on loopback, so a pull or a clone is still running when a test cancels it.

Local pulls and clones finish in milliseconds; these make them last:
* `ThrottledProxy`: a TCP proxy (asyncio, in its own thread) in front of the registry that
  holds every chunk for `delay` seconds before passing it on. The daemon treats
  127.0.0.0/8 registries as insecure, so `127.0.0.1:<proxy port>/repo:tag` pulls through it.
* `SlowGitServer`: the "dumb" HTTP git protocol (plain files of a bare repository, which
  `git update-server-info` prepares) served with a delay per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.server
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class ThrottledProxy:
    def __init__(self, upstream: tuple[str, int], delay: float) -> None:
        self.upstream = upstream
        self.delay = delay
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    def start(self) -> ThrottledProxy:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        future.result(timeout=10)
        return self

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter, slow: bool) -> None:
            try:
                while data := await source.read(1024):
                    if slow:
                        await asyncio.sleep(self.delay)
                    sink.write(data)
                    await sink.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                sink.close()

        # Requests pass at once; what the registry answers crawls.
        await asyncio.gather(pipe(reader, up_writer, False), pipe(up_reader, writer, True))

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


class _SlowHandler(http.server.SimpleHTTPRequestHandler):
    delay = 1.0

    def do_GET(self) -> None:
        self.server.requests += 1  # type: ignore[attr-defined]
        time.sleep(self.delay)
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


class SlowGitServer:
    """http://127.0.0.1:<port>/ serving the bare repository `path`, `delay` s per request."""

    def __init__(self, path: Path, delay: float) -> None:
        subprocess.run(["git", "--git-dir", str(path), "update-server-info"], check=True)
        handler = type("Handler", (_SlowHandler,), {"delay": delay})
        self._server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(handler, directory=str(path))
        )
        self._server.daemon_threads = True
        self._server.requests = 0  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    @property
    def requests(self) -> int:
        return int(self._server.requests)  # type: ignore[attr-defined]

    def start(self) -> SlowGitServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextlib.contextmanager
def throttled_registry(registry: str, delay: float) -> Iterator[ThrottledProxy]:
    host, _, port = registry.partition(":")
    proxy = ThrottledProxy((host, int(port or 80)), delay).start()
    try:
        yield proxy
    finally:
        proxy.stop()
