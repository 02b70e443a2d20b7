"""A subscriber's side of an audience (`berth.graphql_audience_members`) with a stand-in
protocol handler and schema: what a member sends, and how one whose socket stalls catches up
on an execution of its own without missing or repeating a row. Over real sockets against a
real server: tests/subscriptions/test_audiences.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from strawberry.types.execution import ExecutionResult

from berth import graphql_audiences as audiences
from berth.graphql_audience_members import AudienceMember, SharingHandler
from berth.metrics import SUBSCRIPTION_EXECUTIONS
from berth.schema.context import Context
from tests.support.polling import poll
from tests.test_graphql_audiences import EVENTS, principal


class Rows:
    """A stand-in for the schema: every execution replays the rows so far, then the new ones,
    one per result, and ends when told (as `deploymentEvents` does)."""

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.ended = False
        self.changed = asyncio.Condition()
        self.executions = 0

    async def subscribe(self, query: str, **kwargs: Any) -> AsyncIterator[ExecutionResult]:
        self.executions += 1
        return self._stream()

    async def _stream(self) -> AsyncIterator[ExecutionResult]:
        sent = 0
        while True:
            while sent < len(self.rows):
                yield ExecutionResult(data={"deploymentEvents": {"seq": self.rows[sent]}}, errors=None)
                sent += 1
            if self.ended:
                return
            async with self.changed:
                await self.changed.wait()

    async def add(self, *rows: int, end: bool = False) -> None:
        self.rows.extend(rows)
        self.ended = end
        async with self.changed:
            self.changed.notify_all()


class Handler(SharingHandler):
    """A protocol handler whose socket can be stalled (`open` cleared)."""

    data_message_type = "next"

    def __init__(self, schema: Rows, registry: audiences.AudienceRegistry) -> None:
        self.view = SimpleNamespace(encode_json=json.dumps, max_response_bytes=1_000_000, audiences=registry)
        self.context = Context(request=None, principal=principal())
        self.schema = schema
        self.root_value = None
        self.websocket = None
        self.open = asyncio.Event()
        self.open.set()
        self.messages: list[dict[str, Any]] = []
        self.arrived = asyncio.Condition()

    async def _sent(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        async with self.arrived:
            self.arrived.notify_all()

    async def has(self, count: int) -> None:
        """Until `count` rows were sent."""
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: len(self.seqs()) >= count), 5)

    async def send_frame(self, operation_id: str, frame: str) -> bool:
        await self.open.wait()
        await self._sent(json.loads(frame))
        return True

    async def send_result(self, operation_id: str, payload: dict[str, Any]) -> None:
        await self.open.wait()
        await self._sent({"id": operation_id, "type": "next", "payload": payload})

    async def send_refusal(self, operation_id: str, errors: list[Any]) -> None:
        self.messages.append({"id": operation_id, "type": "error", "payload": errors})

    async def send_end(self, operation_id: str) -> None:
        self.messages.append({"id": operation_id, "type": "complete"})

    def seqs(self) -> list[int]:
        return [
            m["payload"]["data"]["deploymentEvents"]["seq"]
            for m in self.messages
            if m["type"] == "next" and m["payload"]["data"] is not None
        ]

    @property
    def completed(self) -> bool:
        return bool(self.messages) and self.messages[-1]["type"] == "complete"


def member_of(handler: Handler, operation_id: str) -> tuple[AudienceMember, asyncio.Task[None]]:
    key = audiences.audience_key(EVENTS, None, {"id": "1"}, handler.context.principal)
    assert key is not None
    member = AudienceMember(handler, operation_id, EVENTS, None, {"id": "1"}, key)
    member.join()
    return member, asyncio.create_task(member.serve())


async def test_members_send_the_shared_results_with_their_own_ids_and_complete() -> None:
    rows, registry = Rows(), audiences.AudienceRegistry()
    first, second = Handler(rows, registry), Handler(rows, registry)
    tasks = [member_of(first, "a")[1], member_of(second, "b")[1]]
    await rows.add(1, 2, 3, end=True)
    await asyncio.gather(*tasks)
    assert rows.executions == 1
    for handler, operation_id in ((first, "a"), (second, "b")):
        assert handler.seqs() == [1, 2, 3] and handler.completed
        assert {m["id"] for m in handler.messages} == {operation_id}


async def test_a_stalled_member_catches_up_alone_missing_and_repeating_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audiences, "MEMBER_QUEUE", 50)
    rows, registry = Rows(), audiences.AudienceRegistry()
    fast, slow = Handler(rows, registry), Handler(rows, registry)
    caught_up = SUBSCRIPTION_EXECUTIONS.labels("caught_up")._value.get()  # type: ignore[attr-defined]
    _, fast_task = member_of(fast, "fast")
    slow_member, slow_task = member_of(slow, "slow")
    await rows.add(1, 2)
    await poll(lambda: fast.seqs() == [1, 2] and slow.seqs() == [1, 2], 5, "both have the first rows")
    slow.open.clear()  # its socket stops taking anything
    for seq in range(3, 200):
        await rows.add(seq)
        await fast.has(seq)  # the reading member keeps up
    assert slow_member.member.overflowed  # more waited for it than its queue holds
    slow.open.set()
    await rows.add(200, end=True)
    await asyncio.gather(fast_task, slow_task)
    assert fast.seqs() == slow.seqs() == list(range(1, 201))
    assert fast.completed and slow.completed
    assert rows.executions == 2  # the audience's, and the stalled member's own
    assert SUBSCRIPTION_EXECUTIONS.labels("caught_up")._value.get() == caught_up + 1  # type: ignore[attr-defined]


async def test_a_member_whose_credential_no_longer_holds_is_ended_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    rows, registry = Rows(), audiences.AudienceRegistry()
    kept, revoked = Handler(rows, registry), Handler(rows, registry)
    verdicts = {"kept": True, "revoked": True}

    async def still_valid(principal: Any, since: float | None = None) -> bool:
        return verdicts[principal.subject]

    monkeypatch.setattr("berth.graphql_audience_members.still_valid", still_valid)
    kept.context.principal = principal("kept")
    revoked.context.principal = principal("revoked")
    tasks = [member_of(kept, "k")[1], member_of(revoked, "r")[1]]
    await rows.add(1)
    await poll(lambda: kept.seqs() == [1] and revoked.seqs() == [1], 5, "both have the first row")
    verdicts["revoked"] = False
    await rows.add(2, 3, end=True)
    await asyncio.gather(*tasks)
    assert rows.executions == 1
    assert kept.seqs() == [1, 2, 3] and kept.completed
    assert revoked.seqs() == [1] and revoked.completed
    error = revoked.messages[-2]["payload"]
    assert error["data"] is None and error["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
