"""A small closed-loop HTTP/1.1 load generator: keep-alive connections, pre-built requests.

On two cores the client shares the machine with the server, so it must cost little per
request: no HTTP library, just asyncio streams, a pre-encoded request, and a response read
by Content-Length (or chunked). Each connection sends its next request as soon as the last
answer arrived; latency is measured per request with `time.perf_counter`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


def graphql_request(port: int, query: str, variables: dict[str, Any] | None = None,
                    token: str | None = None, path: str = "/graphql") -> bytes:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    headers = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        "Accept: application/json",
        f"Content-Length: {len(body)}",
    ]
    if token:
        headers.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


class HttpConnection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> HttpConnection:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        assert self.reader is not None and self.writer is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                chunks.append(chunk[:-2])
            body = b"".join(chunks)
        else:
            raise RuntimeError(f"response without length: {headers}")
        return status, body


async def post_json(port: int, raw: bytes) -> Any:
    """One request on a fresh connection; the decoded JSON answer (status 200 required)."""
    conn = await HttpConnection(port).open()
    try:
        status, body = await conn.send(raw)
    finally:
        await conn.close()
    if status != 200:
        raise RuntimeError(f"HTTP {status}: {body[:500]!r}")
    return json.loads(body)


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    completions: list[float] = field(default_factory=list)  # perf_counter at each answer
    start: float = 0.0
    end: float = 0.0
    errors: int = 0
    first_error: str | None = None

    @property
    def seconds(self) -> float:
        return self.end - self.start

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds > 0 else 0.0


Check = Callable[[int, bytes], str | None]  # (status, body) -> problem or None


def graphql_ok(status: int, body: bytes) -> str | None:
    if status != 200:
        return f"HTTP {status}: {body[:300]!r}"
    # Top-level GraphQL errors, and a mutation payload's user errors, are non-empty lists.
    if b'"errors": [{' in body or b'"errors":[{' in body:
        return f"errors: {body[:300]!r}"
    return None


async def closed_loop(port: int, make_request: Callable[[int], bytes], *, concurrency: int,
                      duration: float | None = None, requests: int | None = None,
                      check: Check = graphql_ok,
                      before_each: Callable[[int], Awaitable[None]] | None = None) -> LoadResult:
    """`concurrency` connections, each sending back to back, for `duration` s or until
    `requests` were answered in total. `make_request(n)` builds the n-th request."""
    result = LoadResult()
    connections = [await HttpConnection(port).open() for _ in range(concurrency)]
    counter = 0
    stop_at: float | None = None

    async def worker(conn: HttpConnection) -> None:
        nonlocal counter
        while True:
            if stop_at is not None and time.perf_counter() >= stop_at:
                return
            if requests is not None and counter >= requests:
                return
            n = counter
            counter += 1
            if before_each is not None:
                await before_each(n)
            raw = make_request(n)
            started = time.perf_counter()
            status, body = await conn.send(raw)
            done = time.perf_counter()
            problem = check(status, body)
            if problem is not None:
                result.errors += 1
                result.first_error = result.first_error or problem
                continue
            result.latencies.append(done - started)
            result.completions.append(done)

    result.start = time.perf_counter()
    if duration is not None:
        stop_at = result.start + duration
    try:
        await asyncio.gather(*(worker(c) for c in connections))
    finally:
        result.end = time.perf_counter()
        for conn in connections:
            await conn.close()
    return result
