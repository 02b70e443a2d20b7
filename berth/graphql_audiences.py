"""Subscriptions executed once per audience.

Many WebSocket subscribers often follow the same thing (hundreds of dashboards on one
deployment's events). Subscribers on this process with the same document, operation name
and variables and the same effective authorisation (the scopes and project limits that
decide what they may see: `Principal.scopes`, `Principal.project_ids`) form an audience:
one execution resolves and serialises each result once, and every member sends the same
bytes with its own operation id spliced in.

What stays per subscriber: its credential is checked before each result goes out (the
shared execution runs on a principal without token or expiry, so one member's revoked
token ends that member only), its `complete` ends its membership only (the execution
stops with the last member), the open-subscriptions gauge counts each member, and each
member has its own bounded queue, so a slow socket stalls nobody else: a member that falls
that far behind leaves its audience and catches up on an execution of its own.

A late joiner must get what an execution of its own would give it. The shared fields
replay history after `afterSeq` and then go live, one row per message: an audience keeps
every message it sent since it started (up to REPLAY_MESSAGES and REPLAY_BYTES) and gives
them to a joiner first. Once it has sent more than that it is past its start and takes no
one new: the next subscriber starts a new audience.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, located_error, parse
from strawberry.types.execution import ExecutionResult, PreExecutionError

from berth.auth.principal import Principal
from berth.metrics import SUBSCRIPTION_EXECUTIONS, SharedStreamCount, count_per_subscriber
from berth.schema.errors import CodedError

log = logging.getLogger("berth.graphql.audiences")

# What a late joiner can be given from an audience's past (CONTRACT: it gets the full replay).
REPLAY_MESSAGES = 1000
REPLAY_BYTES = 256 * 1024
# Results waiting for one member's socket (count, and payload bytes); more and it leaves the
# audience (it catches up alone, from the database). A queue is always the newest part of
# what its audience sent, and the messages are shared, so however many members lag, an
# audience holds at most this much of its output. Generous, so that a burst (a member's
# socket drains slower than the execution produces) does not send everyone off alone.
MEMBER_QUEUE = 5000
MEMBER_QUEUE_BYTES = 16 * 1024 * 1024

# Root fields whose stream depends only on the arguments and on what the caller may see, and
# sends one row per message in seq order after `afterSeq` (replay, then live): a late joiner's
# replay is the audience's past, and a member that falls behind resumes alone after as many
# messages as it was sent. (`deploymentLogBatches` batches by timing and `deploymentFeed`
# starts at the moment of subscribing: neither resumes by message count, so they run alone.)
SHARED_FIELDS = frozenset({"deploymentEvents", "deploymentLogs"})

REVOKED = "The credential was revoked or has expired."
# Documents longer than this run alone: what is parsed and kept here stays small (a
# dashboard's subscription is a few hundred bytes; a message may be 256 KiB).
MAX_SHARED_DOCUMENT = 16 * 1024


@dataclass(frozen=True)
class AudienceKey:
    query: str
    operation_name: str | None
    variables: str  # canonical JSON
    scopes: frozenset[str]
    project_ids: frozenset[int]


@dataclass(frozen=True)
class SharedField:
    """The root field of a shareable subscription document (for errors made per member)."""

    node: FieldNode
    response_key: str


@lru_cache(maxsize=256)
def shared_field(query: str, operation_name: str | None) -> SharedField | None:
    """The root field when the document's operation is a subscription of a SHARED_FIELDS
    field (parsed once per document text); None: it runs as it always did."""
    try:
        document = parse(query)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name is not None and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation is not OperationType.SUBSCRIPTION:
        return None
    selections = operations[0].selection_set.selections
    if len(selections) != 1 or not isinstance(selections[0], FieldNode):
        return None
    node = selections[0]
    if node.name.value not in SHARED_FIELDS or node.directives:
        return None
    return SharedField(node, node.alias.value if node.alias else node.name.value)


def audience_key(
    query: str, operation_name: str | None, variables: dict[str, Any] | None, principal: Principal | None
) -> AudienceKey | None:
    """Who may share an execution of this operation; None when it runs alone."""
    if principal is None or not isinstance(query, str) or len(query) > MAX_SHARED_DOCUMENT:
        return None
    if shared_field(query, operation_name) is None:
        return None
    try:
        canonical = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return None
    return AudienceKey(query, operation_name, canonical, principal.scopes, principal.project_ids)


def shared_principal(principal: Principal) -> Principal:
    """The principal a shared execution runs as: what it may see is the member's, but no
    token or expiry of one member (each member's credential is checked before it sends)."""
    return dataclasses.replace(principal, token_id=None, expires_at=None)


def revoked_payload(key: AudienceKey) -> dict[str, Any]:
    """The result an execution of its own gives a subscriber whose credential no longer holds."""
    found = shared_field(key.query, key.operation_name)
    assert found is not None
    error = located_error(CodedError(REVOKED, "UNAUTHENTICATED"), [found.node], [found.response_key])
    return {"data": None, "errors": [error.formatted]}


Encode = Callable[[object], "str | bytes"]


def encode_payload(payload: dict[str, Any]) -> str:
    """A result's payload as Strawberry encodes every message (compact JSON)."""
    return json.dumps(payload, separators=(",", ":"))


@dataclass(eq=False)
class Sent:
    """One message of the shared execution, as every member sends it."""

    kind: Literal["result", "refused", "end"]
    payload: dict[str, Any] | None = None  # a result's `next`/`data` payload
    errors: list[Any] = field(default_factory=list)  # refused before execution
    produced_at: float = 0.0
    # The payload serialised, once for every member (a result's).
    encoded: str = ""

    @property
    def size(self) -> int:
        return len(self.encoded)

    def frame(self, message_type: str, operation_id: str, encode: Encode, limit: int) -> str:
        """The `{"id", "type", "payload"}` message for `operation_id`, as Strawberry would
        encode it, from the payload serialised once with the id spliced in. Over the
        response cap, `encode` (the view's, which replaces the result) does the whole message."""
        framed = f'{{"id":{json.dumps(operation_id)},"type":"{message_type}","payload":{self.encoded}}}'
        if len(framed) > limit:
            whole = encode({"id": operation_id, "type": message_type, "payload": self.payload})
            return whole.decode() if isinstance(whole, bytes) else whole
        return framed


END = Sent("end")


class Member:
    """One subscriber of an audience: its queue of messages not yet sent."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.queue: deque[Sent] = deque()
        self.queued_bytes = 0
        self.ready = asyncio.Event()
        self.overflowed = False
        self.results_sent = 0
        # Results produced up to this moment (loop time) were cleared by a credential check
        # begun after them.
        self.checked_until = -1.0

    def offer(self, sent: Sent) -> None:
        if self.overflowed:
            return
        if len(self.queue) >= MEMBER_QUEUE or self.queued_bytes + sent.size > MEMBER_QUEUE_BYTES:
            self.overflowed = True
            self.queue.clear()
            self.queued_bytes = 0
        else:
            self.queue.append(sent)
            self.queued_bytes += sent.size
        self.ready.set()

    def check_moment(self, sent: Sent) -> float | None:
        """When a check of this member's credential must have begun for `sent` to go out;
        None when one already has. Asked as of the newest result waiting, so one check
        clears a burst, and the members woken by one result ask as of the same moment (one
        token query serves them all, as with streams of their own)."""
        if sent.produced_at <= self.checked_until:
            return None
        newest = self.queue[-1].produced_at if self.queue else 0.0
        return max(sent.produced_at, newest)

    async def next(self) -> Sent | None:
        """The next message to send; None when this member fell too far behind."""
        while not self.queue and not self.overflowed:
            self.ready.clear()
            await self.ready.wait()
        if self.overflowed:
            return None
        sent = self.queue.popleft()
        self.queued_bytes -= sent.size
        return sent


Source = Callable[[Principal], Awaitable[AsyncIterator[Any]]]


class Audience:
    """One running execution and the members it sends to."""

    def __init__(self, key: AudienceKey, registry: AudienceRegistry) -> None:
        self.key = key
        self.registry = registry
        self.members: set[Member] = set()
        self.past: list[Sent] = []
        self.past_bytes = 0
        self.joinable = True
        self.count = SharedStreamCount()
        self.task: asyncio.Task[None] | None = None

    def start(self, source: Source, principal: Principal) -> None:
        self.task = asyncio.create_task(self._run(source, shared_principal(principal)))

    def add(self, member: Member) -> None:
        for sent in self.past:
            member.offer(sent)
        self.members.add(member)
        self.count.join()

    def remove(self, member: Member) -> None:
        if member not in self.members:
            return
        self.members.discard(member)
        self.count.leave()
        if not self.members:
            self.registry.forget(self)
            if self.task is not None:
                self.task.cancel()

    def _close_to_joiners(self) -> None:
        self.joinable = False
        self.past = []
        self.registry.forget(self)

    def _send(self, sent: Sent) -> None:
        if self.joinable:
            if len(self.past) >= REPLAY_MESSAGES or self.past_bytes + sent.size > REPLAY_BYTES:
                self._close_to_joiners()  # past its start: a joiner would miss the beginning
            else:
                self.past.append(sent)
                self.past_bytes += sent.size
        for member in list(self.members):
            member.offer(sent)

    async def _run(self, source: Source, principal: Principal) -> None:
        count_per_subscriber(self.count)
        loop = asyncio.get_running_loop()
        try:
            results = await source(principal)
            first = True
            async for result in results:
                if first and isinstance(result, PreExecutionError):
                    errors = [error.formatted for error in result.errors or []]
                    self._send(Sent("refused", errors=errors))
                    return
                first = False
                if not isinstance(result, ExecutionResult):
                    continue  # incremental delivery: not in a shared document
                payload: dict[str, Any] = {"data": result.data}
                if result.errors:
                    payload["errors"] = [error.formatted for error in result.errors]
                if result.extensions:
                    payload["extensions"] = result.extensions
                self._send(Sent("result", payload=payload, produced_at=loop.time(), encoded=encode_payload(payload)))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("a shared subscription failed")
        finally:
            self.joinable = False
            self.registry.forget(self)
        self._send(END)


class AudienceRegistry:
    """Key → the audience a new subscriber joins; counts the executions it started."""

    def __init__(self) -> None:
        self._joinable: dict[AudienceKey, Audience] = {}
        self.executions_started = 0

    def join(self, key: AudienceKey, member: Member, source: Source) -> Audience:
        audience = self._joinable.get(key)
        if audience is None or not audience.joinable:
            audience = Audience(key, self)
            self._joinable[key] = audience
            self.executions_started += 1
            SUBSCRIPTION_EXECUTIONS.labels("audience").inc()
            audience.start(source, member.principal)
        audience.add(member)
        return audience

    def forget(self, audience: Audience) -> None:
        if self._joinable.get(audience.key) is audience:
            del self._joinable[audience.key]

    @property
    def audiences(self) -> int:
        return len(self._joinable)

