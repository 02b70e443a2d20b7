"""A loopback HTTP server standing in for a provider's commit-status API (GitHub, GitLab,
Gitea are unreachable from the tests) or a notification receiver (a webhook, Slack,
Discord): it records every request and answers from a script.

    with StatusReceiver() as receiver:          # answers 201 unless told otherwise
        receiver.script(500, 500)               # the next two requests get 500, then 201 again
        ... receiver.url ... receiver.requests ... receiver.wait_for(2)
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.polling import poll, wait_until


@dataclass(frozen=True)
class Received:
    method: str
    # The raw request target, percent-encoding kept (GitLab's project path is %2F-encoded).
    path: str
    headers: dict[str, str]
    body: Any
    # The bytes as sent (what a signature covers).
    raw: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class StatusReceiver:
    def __init__(self, echo_credentials: bool = False) -> None:
        self.requests: list[Received] = []
        self._answers: deque[int] = deque()
        # Seconds to hold each of the next requests before answering (a provider too slow).
        self._holds: deque[float] = deque()
        self._release = threading.Event()
        self._lock = threading.Lock()
        # Failing answers quote the request's credential headers back, as a careless proxy
        # might: whatever Berth records of an answer must still not hold the token.
        self.echo_credentials = echo_credentials
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw.decode(errors="replace")
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    receiver.requests.append(Received("POST", self.path, headers, body, raw))
                    status = receiver._answers.popleft() if receiver._answers else 201
                    hold = receiver._holds.popleft() if receiver._holds else 0.0
                if hold:
                    receiver._release.wait(hold)
                answer: dict[str, Any] = {"id": len(receiver.requests)}
                if status >= 300:
                    answer = {"message": "stand-in failure"}
                    if receiver.echo_credentials:
                        answer["echo"] = [headers.get("authorization"), headers.get("private-token")]
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout) or was killed: nobody to answer

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def script(self, *statuses: int) -> None:
        """Answer the next requests with these statuses (then 201 again)."""
        with self._lock:
            self._answers.extend(statuses)

    def hold(self, seconds: float, count: int = 1) -> None:
        """Keep the next `count` requests waiting `seconds` before answering (or until exit)."""
        with self._lock:
            self._holds.extend([seconds] * count)

    def release(self) -> None:
        """Let every held request answer now (and hold none from here on)."""
        self._release.set()

    def answer_always(self, status: int, count: int = 1000) -> None:
        self.script(*([status] * count))

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.requests)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        return wait_until(lambda: len(self.snapshot()) >= count and self.snapshot(), timeout,
                          f"{count} status request(s)")

    async def received(self, count: int, timeout: float = 30.0) -> list[Received]:
        result: list[Received] = await poll(lambda: len(self.snapshot()) >= count and self.snapshot(), timeout,
                                            f"{count} status request(s)")
        return result

    def __enter__(self) -> StatusReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
