"""A bounded loop of HTTP requests through a server's proxy, in a thread, for rollout tests.

Each request is a new connection to 127.0.0.1:<proxy port> with the route's Host header;
what it got (status and body, or the error) is kept in order. Bounded in count and time.
"""

from __future__ import annotations

import dataclasses
import http.client
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    at: float
    """When the answer (or the error) came."""
    status: int | None
    body: str
    """The body, or the error when there was no HTTP answer."""
    started: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == 200


def get(port: int, host: str, path: str = "/", timeout: float = 5.0) -> Answer:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        return Answer(time.monotonic(), response.status, response.read().decode(errors="replace"))
    except OSError as exc:
        return Answer(time.monotonic(), None, f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


class TrafficLoop:
    def __init__(self, port: int, host: str, *, path: str = "/", max_requests: int = 5000,
                 max_seconds: float = 180.0, pause: float = 0.01) -> None:
        self.port, self.host, self.path = port, host, path
        self.max_requests, self.max_seconds, self.pause = max_requests, max_seconds, pause
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="traffic", daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and len(self.answers) < self.max_requests and time.monotonic() < deadline:
            started = time.monotonic()
            answer = get(self.port, self.host, self.path)
            self.answers.append(dataclasses.replace(answer, started=started))
            self._stop.wait(self.pause)  # pacing, so the loop leaves the CPU to the deployment

    def __enter__(self) -> TrafficLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> list[Answer]:
        self._stop.set()
        self._thread.join(timeout=30)
        return list(self.answers)

    def count(self, predicate: Callable[[Answer], bool]) -> int:
        return sum(1 for answer in list(self.answers) if predicate(answer))

    @property
    def running(self) -> bool:
        return self._thread.is_alive()
