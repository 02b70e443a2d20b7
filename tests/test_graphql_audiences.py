"""The audience registry on its own (`berth.graphql_audiences`): who shares, the frames,
the replay buffer, the per-member bound and counting. Over real sockets against a real
server: tests/subscriptions/test_audiences.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from strawberry.types.execution import ExecutionResult

from berth import graphql_audiences as audiences
from berth.auth.principal import Principal, make_principal
from berth.metrics import OPEN_SUBSCRIPTIONS, streaming
from berth.models.enums import Role, TokenKind
from tests.support.polling import poll

EVENTS = "subscription ($id: ID!) { deploymentEvents(deploymentId: $id) { seq } }"


def principal(
    subject: str = "a", role: Role = Role.OWNER, scopes: tuple[str, ...] = ("deploy:read", "logs:read"),
    projects: tuple[int, ...] = (), token_id: int | None = None,
) -> Principal:
    return make_principal(
        subject=subject, email=None, role=role, token_kind=TokenKind.API_TOKEN,
        credential_scopes=scopes, project_ids=projects, token_id=token_id,
    )


def test_the_same_document_variables_and_effective_authorisation_share_and_nothing_else() -> None:
    key = audiences.audience_key(EVENTS, None, {"id": "1"}, principal("a", token_id=1))
    assert key is not None
    # Another principal (subject, token) with the same effective scopes and projects shares.
    assert audiences.audience_key(EVENTS, None, {"id": "1"}, principal("b", token_id=2)) == key
    others = [
        audiences.audience_key(EVENTS, None, {"id": "2"}, principal()),
        audiences.audience_key(EVENTS, None, {"id": "1"}, principal(scopes=("deploy:read",))),
        audiences.audience_key(EVENTS, None, {"id": "1"}, principal(projects=(7,))),
        audiences.audience_key(EVENTS + " ", None, {"id": "1"}, principal()),
    ]
    assert all(other is not None and other != key for other in others)
    # The order of the variables is not part of it.
    two = "subscription ($id: ID!, $a: Int) { deploymentEvents(deploymentId: $id, afterSeq: $a) { seq } }"
    assert audiences.audience_key(two, None, {"id": "1", "a": 2}, principal()) == audiences.audience_key(
        two, None, {"a": 2, "id": "1"}, principal()
    )


def test_what_is_not_a_shared_subscription_runs_alone() -> None:
    for query in (
        "{ viewer { subject } }",
        "mutation { __typename }",
        "subscription { deploymentFeed { seq } }",
        "subscription ($id: ID!) { deploymentLogBatches(deploymentId: $id) { lastSeq } }",
        "subscription ($id: ID!) { deploymentEvents(deploymentId: $id) { seq } ",  # unparsable
        "subscription ($id: ID!) { ...F } fragment F on Subscription { deploymentEvents(deploymentId: $id) { seq } }",
    ):
        assert audiences.audience_key(query, None, {"id": "1"}, principal()) is None, query
    assert audiences.audience_key(EVENTS, None, {"id": "1"}, None) is None
    padded = EVENTS + "#" * audiences.MAX_SHARED_DOCUMENT
    assert audiences.audience_key(padded, None, {"id": "1"}, principal()) is None
    assert audiences.audience_key(EVENTS, "Other", {"id": "1"}, principal()) is None


def test_the_revocation_error_is_located_at_the_subscription_field() -> None:
    query = "subscription ($id: ID!) {\n  events: deploymentEvents(deploymentId: $id) { seq }\n}"
    key = audiences.audience_key(query, None, {"id": "1"}, principal())
    assert key is not None
    payload = audiences.revoked_payload(key)
    assert payload == {
        "data": None,
        "errors": [{
            "message": audiences.REVOKED, "locations": [{"line": 2, "column": 3}], "path": ["events"],
            "extensions": {"code": "UNAUTHENTICATED"},
        }],
    }


def test_a_frame_is_the_message_with_each_member_s_own_id() -> None:
    encodings: list[object] = []

    def encode(data: object) -> str:  # the view's: what a solo operation's message would be
        encodings.append(data)
        return json.dumps(data, separators=(",", ":"))

    payload = {"data": {"deploymentEvents": {"seq": 1, "type": 'say "hi" ü'}}}
    sent = audiences.Sent("result", payload=payload, encoded=audiences.encode_payload(payload))
    for op_id in ("1", 'quote"d', "ü"):
        for kind in ("next", "data"):
            frame = sent.frame(kind, op_id, encode, 10_000)
            assert frame == encode({"id": op_id, "type": kind, "payload": payload})  # the same bytes
    encodings.clear()
    sent.frame("next", "1", encode, 10_000)
    assert encodings == []  # nothing serialised again for a member
    # At the size cap's edge, the whole message is encoded as a solo operation's would be.
    small = sent.frame("next", "x" * 100, encode, 50)
    assert json.loads(small)["id"] == "x" * 100 and len(encodings) == 1


def test_a_member_that_falls_too_far_behind_is_told_so() -> None:
    member = audiences.Member(principal())
    for _ in range(audiences.MEMBER_QUEUE):
        member.offer(audiences.Sent("result", payload={}, encoded="{}"))
    assert not member.overflowed
    member.offer(audiences.Sent("result", payload={}, encoded="{}"))
    assert member.overflowed and not member.queue
    assert asyncio.run(member.next()) is None


class Script:
    """A shared execution's source: yields the results pushed to it, then ends."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.started = 0
        self.principals: list[Principal] = []

    async def __call__(self, shared: Principal) -> AsyncIterator[Any]:
        self.started += 1
        self.principals.append(shared)
        return self._results()

    async def _results(self) -> AsyncIterator[Any]:
        with streaming("events"):
            while (item := await self.queue.get()) is not None:
                yield ExecutionResult(data={"deploymentEvents": {"seq": item}}, errors=None)

    def push(self, *items: int | None) -> None:
        for item in items:
            self.queue.put_nowait(item)


async def drain(member: audiences.Member, count: int) -> list[audiences.Sent]:
    return [sent for sent in [await member.next() for _ in range(count)] if sent is not None]


def seqs(sents: list[audiences.Sent]) -> list[int]:
    return [s.payload["data"]["deploymentEvents"]["seq"] for s in sents if s.payload is not None]


def gauge() -> float:
    return OPEN_SUBSCRIPTIONS.labels("events")._value.get()  # type: ignore[attr-defined,no-any-return]


async def test_members_share_one_execution_a_late_joiner_gets_the_past_and_the_last_leaving_stops_it() -> None:
    registry = audiences.AudienceRegistry()
    script = Script()
    key = audiences.audience_key(EVENTS, None, {"id": "1"}, principal())
    assert key is not None
    before = gauge()
    first, second = audiences.Member(principal("a", token_id=1)), audiences.Member(principal("b", token_id=2))
    audience = registry.join(key, first, script)
    assert registry.join(key, second, script) is audience
    script.push(1, 2)
    got = [await drain(first, 2), await drain(second, 2)]
    assert seqs(got[0]) == seqs(got[1]) == [1, 2] and got[0][0] is got[1][0]  # the same message
    assert script.started == 1 and registry.executions_started == 1
    # It runs without any member's token or expiry (each member checks its own).
    assert script.principals[0].token_id is None and script.principals[0].scopes == first.principal.scopes
    await poll(lambda: gauge() == before + 2, 5, "two open subscriptions")
    late = audiences.Member(principal("c"))
    assert registry.join(key, late, script) is audience
    assert seqs(await drain(late, 2)) == [1, 2]
    assert gauge() == before + 3
    for member in (first, second):
        audience.remove(member)
    assert gauge() == before + 1 and audience.task is not None and not audience.task.done()
    audience.remove(late)
    await poll(lambda: audience.task is not None and audience.task.done(), 5, "the execution stopped")
    assert gauge() == before and registry.audiences == 0


async def test_past_the_replay_buffer_a_joiner_starts_an_execution_of_its_own() -> None:
    registry = audiences.AudienceRegistry()
    script = Script()
    key = audiences.audience_key(EVENTS, None, {"id": "1"}, principal())
    assert key is not None
    first = audiences.Member(principal())
    audience = registry.join(key, first, script)
    script.push(*range(1, audiences.REPLAY_MESSAGES + 2))
    assert len(await drain(first, audiences.REPLAY_MESSAGES + 1)) == audiences.REPLAY_MESSAGES + 1
    assert not audience.joinable
    late = audiences.Member(principal())
    assert registry.join(key, late, script) is not audience
    assert registry.executions_started == 2
    script.push(None, None)  # both executions end: every member is told
    assert (await first.next()) is audiences.END and (await late.next()) is audiences.END
    assert registry.audiences == 0
