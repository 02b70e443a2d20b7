"""Helpers for the subscription tests: API processes, credentials, a scripted deployment,
and WebSocket clients (gql for graphql-transport-ws, raw `websockets` for graphql-ws and
close codes) that collect what arrives and let a test wait for it with a deadline."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from berth.auth.api_tokens import create_api_token
from berth.models import Deployment, DeploymentEvent, LogLine, Service
from berth.models.enums import (
    DeploymentConclusion,
    DeploymentStatus,
    LogStream,
    Role,
    StepKind,
    StepStatus,
)
from berth.models.lifecycle import LogEntry, StepChange, append_logs, apply_change
from berth.schema.ids import to_global_id
from tests.live_server import LiveServer
from tests.models.factories import make_deployment, make_service

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 30.0
TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"

EVENTS = """subscription ($id: ID!, $after: Int) {
  deploymentEvents(deploymentId: $id, afterSeq: $after) {
    seq type status conclusion step { kind status } deployment { id status }
  }
}"""
LOGS = """subscription ($id: ID!, $after: Int) {
  deploymentLogs(deploymentId: $id, afterSeq: $after) { seq text stream step }
}"""
FEED = """subscription ($project: ID) {
  deploymentFeed(projectId: $project) { seq type deployment { id project { id } } }
}"""


# ---------------------------------------------------------------- processes


@dataclass
class ApiProcess(LiveServer):
    """`berth serve` in its own OS process, run from the checkout."""

    def start(self, timeout: float = 30) -> ApiProcess:
        module = "berth"
        log = self.log_path.open("ab")
        env = {**os.environ, **self.env}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, "serve", "--port", str(self.port), *self.args],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"berth serve exited with {self.process.returncode}:\n{self.log()}")
            with suppress(httpx.HTTPError):
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"berth serve not ready within {timeout}s:\n{self.log()}")

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http") + "/graphql"


def ws_url(server: LiveServer) -> str:
    return "ws" + server.url.removeprefix("http") + "/graphql"


# ---------------------------------------------------------------- credentials and data


async def token(role: Role = Role.OWNER, projects: Sequence[int] = (), scopes: Sequence[str] | None = None) -> str:
    _, secret = await create_api_token("subscriber", role, scopes, list(projects), None, "test", None)
    return secret


async def token_with_id(role: Role = Role.OWNER, expires_in_days: int | None = None) -> tuple[int, str]:
    row, secret = await create_api_token("subscriber", role, None, [], expires_in_days, "test", None)
    return row.id, secret


def gid(type_name: str, pk: int) -> str:
    return to_global_id(type_name, pk)


async def new_deployment(service: Service | None = None) -> Deployment:
    return await make_deployment(service or await make_service())


Phase = Callable[[], Awaitable[Any]]


def scripted_phases(pk: int, lines_per_step: int = 20, batch: int = 50, text: str = "line") -> list[Phase]:
    """An IMAGE deployment from QUEUED to COMPLETED/SUCCEEDED, as a runner writes it,
    one phase per transaction group; log lines in batches of `batch`."""

    def move(**kwargs: Any) -> Phase:
        async def run() -> None:
            await apply_change(pk, **kwargs)

        return run

    def steps(*changes: tuple[StepKind, StepStatus]) -> list[StepChange]:
        return [StepChange(kind, status) for kind, status in changes]

    def logs(step: StepKind) -> Phase:
        async def run() -> None:
            for start in range(0, lines_per_step, batch):
                count = min(batch, lines_per_step - start)
                await append_logs(
                    pk,
                    [
                        LogEntry(f"{text} {step.value.lower()} {start + i}", LogStream.STDOUT, step)
                        for i in range(count)
                    ],
                )

        return run

    S = DeploymentStatus
    return [
        move(
            from_status=S.QUEUED,
            to_status=S.PREPARE,
            steps=steps(
                (StepKind.CLONE, StepStatus.SKIPPED),
                (StepKind.BUILD, StepStatus.SKIPPED),
                (StepKind.PULL, StepStatus.RUNNING),
            ),
        ),
        logs(StepKind.PULL),
        move(steps=steps((StepKind.PULL, StepStatus.SUCCEEDED))),
        move(from_status=S.PREPARE, to_status=S.DEPLOY, steps=steps((StepKind.VOLUME, StepStatus.RUNNING))),
        move(steps=steps((StepKind.VOLUME, StepStatus.SUCCEEDED), (StepKind.START, StepStatus.RUNNING))),
        logs(StepKind.START),
        move(steps=steps((StepKind.START, StepStatus.SUCCEEDED))),
        move(from_status=S.DEPLOY, to_status=S.FINALIZE, steps=steps((StepKind.HEALTH, StepStatus.RUNNING))),
        logs(StepKind.HEALTH),
        move(steps=steps((StepKind.HEALTH, StepStatus.SUCCEEDED), (StepKind.FINALIZE, StepStatus.RUNNING))),
        move(steps=steps((StepKind.FINALIZE, StepStatus.SUCCEEDED))),
        move(
            from_status=S.FINALIZE,
            to_status=S.COMPLETED,
            conclusion=DeploymentConclusion.SUCCEEDED,
        ),
    ]


async def run_phases(phases: Sequence[Phase]) -> None:
    for phase in phases:
        await phase()


async def stored_events(pk: int) -> list[tuple[int, str]]:
    rows = await DeploymentEvent.filter(deployment_id=pk).order_by("seq").values_list("seq", "type")
    return [(int(seq), str(kind)) for seq, kind in rows]


async def stored_logs(pk: int) -> list[tuple[int, str]]:
    rows = await LogLine.filter(deployment_id=pk).order_by("seq").values_list("seq", "text")
    return [(int(seq), str(text)) for seq, text in rows]


async def until_live(feed: GqlStream, service: Service, deadline: float = TIMEOUT) -> list[int]:
    """Return once `feed` carries new events. A feed streams what happens from the moment
    the server set it up, which no message tells the client; so create deployments of
    `service` (one CREATED event each) until one shows up. Returns their ids."""
    created: list[int] = []
    async with asyncio.timeout(deadline):
        while True:
            created.append((await make_deployment(service)).id)
            with suppress(AssertionError):
                await feed.collector.wait(lambda c: bool(c.items) or c.done, timeout=1, what="a first event")
                assert not feed.collector.done, (feed.collector.errors, feed.collector.closed)
                return created


# ---------------------------------------------------------------- waiting


class Collector:
    """What a stream received, with a way to wait for a condition on it (with a deadline)."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.completed = False
        self.closed: tuple[int | None, str] | None = None
        self._changed = asyncio.Event()

    def add(self, item: dict[str, Any]) -> None:
        self.items.append(item)
        self._changed.set()

    def fail(self, errors: list[dict[str, Any]]) -> None:
        self.errors.extend(errors)
        self._changed.set()

    def complete(self) -> None:
        self.completed = True
        self._changed.set()

    def finish(self, closed: tuple[int | None, str] | None = None) -> None:
        self.closed = closed
        self._changed.set()

    @property
    def done(self) -> bool:
        return self.completed or bool(self.errors) or self.closed is not None

    async def wait(self, predicate: Callable[[Collector], bool], timeout: float = TIMEOUT, what: str = "") -> None:
        try:
            async with asyncio.timeout(timeout):
                while not predicate(self):
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what or predicate}: "
                f"{len(self.items)} items, errors={self.errors}, completed={self.completed}, closed={self.closed}"
            ) from None

    async def wait_count(self, count: int, timeout: float = TIMEOUT) -> None:
        await self.wait(lambda c: len(c.items) >= count or c.done, timeout, f"{count} items")

    async def wait_done(self, timeout: float = TIMEOUT) -> None:
        await self.wait(lambda c: c.done, timeout, "the end of the stream")


def seqs(collector: Collector) -> list[int]:
    return [item["seq"] for item in collector.items]


@dataclass
class GqlStream:
    """One subscription over graphql-transport-ws through gql, in a background task."""

    url: str
    secret: str | None
    query: str
    variables: dict[str, Any]
    collector: Collector = field(default_factory=Collector)
    task: asyncio.Task[None] | None = None

    def start(self) -> GqlStream:
        self.task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        payload = {"authorization": f"Bearer {self.secret}"} if self.secret else {}
        transport = WebsocketsTransport(url=self.url, init_payload=payload, subprotocols=[TRANSPORT_WS])
        field_name: str | None = None
        try:
            async with Client(transport=transport, fetch_schema_from_transport=False) as session:
                request = gql(self.query)
                request.variable_values = self.variables
                async for result in session.subscribe(request):
                    field_name = field_name or next(iter(result))
                    self.collector.add(result[field_name])
            self.collector.complete()
        except TransportQueryError as error:
            self.collector.fail([dict(e) for e in (error.errors or [{"message": str(error)}])])
        except Exception as error:  # reported to the test through the collector
            self.collector.finish((None, f"{type(error).__name__}: {error}"))

    async def stop(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with suppress(asyncio.CancelledError):
                await self.task


def stalled_connect_args(server: LiveServer) -> dict[str, Any]:
    """`connect` arguments for a client that reads nothing unless asked: a tiny receive
    buffer and a one-frame queue, so the server's sends to it block soon (TCP flow
    control), as with a stalled browser tab."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", server.port))
    raw.setblocking(False)
    return {"sock": raw, "max_queue": 1}


@dataclass
class RawSocket:
    """A raw WebSocket client speaking either subprotocol by hand."""

    url: str
    subprotocol: str
    headers: dict[str, str] = field(default_factory=dict)
    # Extra arguments for `websockets.connect` (e.g. a prepared `sock`, `max_queue`).
    connect_args: dict[str, Any] = field(default_factory=dict)
    socket: ClientConnection | None = None
    received: list[dict[str, Any]] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""

    async def __aenter__(self) -> RawSocket:
        self.socket = await connect(
            self.url,
            subprotocols=[self.subprotocol],  # type: ignore[list-item]
            additional_headers=self.headers,
            **self.connect_args,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.socket is not None
        await self.socket.close()

    async def send(self, message: dict[str, Any] | str) -> None:
        assert self.socket is not None
        await self.socket.send(message if isinstance(message, str) else json.dumps(message))

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any] | None:
        """The next message; None when the server closed the connection (see close_code)."""
        assert self.socket is not None
        try:
            async with asyncio.timeout(timeout):
                raw = await self.socket.recv()
        except ConnectionClosed as closed:
            if closed.rcvd is not None:
                self.close_code, self.close_reason = closed.rcvd.code, closed.rcvd.reason
            return None
        message: dict[str, Any] = json.loads(raw)
        self.received.append(message)
        return message

    async def recv_type(self, *types: str, timeout: float = TIMEOUT) -> dict[str, Any] | None:
        """The next message of one of `types`, skipping keep-alives; None when closed."""
        async with asyncio.timeout(timeout):
            while True:
                message = await self.recv(timeout)
                if message is None or message.get("type") in types:
                    return message

    async def closed(self, timeout: float = TIMEOUT) -> int | None:
        """Read until the server closes; returns the close code."""
        async with asyncio.timeout(timeout):
            while await self.recv(timeout) is not None:
                pass
        return self.close_code

    async def init(self, secret: str | None) -> dict[str, Any] | None:
        payload = {"authorization": f"Bearer {secret}"} if secret else {}
        await self.send({"type": "connection_init", "payload": payload})
        return await self.recv_type("connection_ack", "connection_error")

    async def subscribe(self, op_id: str, query: str, variables: dict[str, Any] | None = None) -> None:
        kind = "subscribe" if self.subprotocol == TRANSPORT_WS else "start"
        await self.send({"id": op_id, "type": kind, "payload": {"query": query, "variables": variables or {}}})

    async def collect_all(self, collectors: dict[str, Collector], timeout: float = TIMEOUT) -> None:
        """Read several operations of this connection into their collectors until all ended."""
        data_type = "next" if self.subprotocol == TRANSPORT_WS else "data"
        async with asyncio.timeout(timeout):
            while not all(c.done for c in collectors.values()):
                message = await self.recv(timeout)
                if message is None:
                    for collector in collectors.values():
                        collector.finish((self.close_code, self.close_reason))
                    return
                target = collectors.get(message.get("id", ""))
                if target is None:
                    continue
                if message["type"] == data_type:
                    payload = message["payload"]
                    if payload.get("errors"):
                        target.fail(payload["errors"])
                    else:
                        target.add(next(iter(payload["data"].values())))
                elif message["type"] == "complete":
                    target.complete()
                elif message["type"] == "error":
                    errors = message["payload"]
                    target.fail(errors if isinstance(errors, list) else [errors])

    async def collect(self, op_id: str, collector: Collector, timeout: float = TIMEOUT) -> Collector:
        """Read this operation's results into `collector` until it completes or fails."""
        data_type = "next" if self.subprotocol == TRANSPORT_WS else "data"
        async with asyncio.timeout(timeout):
            while True:
                message = await self.recv(timeout)
                if message is None:
                    collector.finish((self.close_code, self.close_reason))
                    return collector
                if message.get("id") != op_id:
                    continue
                if message["type"] == data_type:
                    payload = message["payload"]
                    if payload.get("errors"):
                        collector.fail(payload["errors"])
                        return collector
                    collector.add(next(iter(payload["data"].values())))
                elif message["type"] == "complete":
                    collector.complete()
                    return collector
                elif message["type"] == "error":
                    errors = message["payload"]
                    collector.fail(errors if isinstance(errors, list) else [errors])
                    return collector
