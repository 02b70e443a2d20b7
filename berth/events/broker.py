"""In-process fan-out of deployment events and log lines (CONTRACT §5).

The database stays the source of truth. A wake-up only says "deployment N changed"; it
comes from this process's commits (the lifecycle commit listener) and, on PostgreSQL,
from every process's commits (LISTEN/NOTIFY, `berth.events.pg_listener`). A missed,
doubled or coalesced wake-up never loses or repeats an item: everything is read by seq.

One shared reader per deployment (a `Topic`) reads what is new once per wake-up and
offers the rows to each subscriber's `Inbox`, a bounded buffer. The reader never waits
for a subscriber: an inbox that would overflow drops its rows and only remembers from
which seq to read, and its subscriber catches up from the database on its own. So a slow
subscriber holds no more than its bound in memory and slows neither the runner (which
only commits and wakes) nor the other subscribers.

The feed (`FeedTopic`) does the same for every deployment, keeping the newest seq it has
read per deployment: event ids are not committed in id order on PostgreSQL, seqs within
one deployment are.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from berth.models import Deployment as DeploymentRow
from berth.models import DeploymentEvent as EventRow
from berth.models import LogLine as LogLineRow
from berth.models.enums import DeploymentEventType
from berth.models.lifecycle import TERMINAL_STATUSES
from berth.models.sql import fetch_rows

log = logging.getLogger("berth.events")

Kind = Literal["events", "logs"]
KINDS: tuple[Kind, ...] = ("events", "logs")
MODELS: dict[Kind, Any] = {"events": EventRow, "logs": LogLineRow}
COUNTERS: dict[Kind, str] = {"events": "last_event_seq", "logs": "last_log_seq"}

# Rows one database read returns; also the replay batch of a subscriber.
READ_BATCH = 500
# Rows an inbox buffers before it overflows into "catch up from the database".
INBOX_LIMIT = 1000


class Inbox:
    """One subscriber's bounded buffer of rows the shared reader read for it."""

    def __init__(self, limit: int | None = None, admits: Callable[[int], bool] | None = None) -> None:
        self.limit = INBOX_LIMIT if limit is None else limit
        # Feed only: whether rows of a deployment of this project may be offered.
        self.admits = admits
        self.items: deque[Any] = deque()
        self.ready = asyncio.Event()
        # Deployment id → the lowest seq dropped on overflow: read the database from there.
        self.dropped: dict[int, int] = {}
        # Deployment id → the newest seq known to be committed (a trailing gap to read).
        self.newest: dict[int, int] = {}
        # Deployment id → the last seq there will ever be (the deployment has concluded).
        self.final: dict[int, int] = {}
        # Set when wake-ups may have been lost or the reader failed: read the database.
        self.resync = False
        # When the last rows arrived (loop time): a subscriber re-checks its credential
        # with a check begun after that before passing them on.
        self.offered_at = 0.0
        self.overflows = 0

    def offer(
        self, deployment_id: int, rows: Sequence[Any], newest: int | None = None, final: int | None = None
    ) -> None:
        self.offered_at = asyncio.get_running_loop().time()
        if newest is not None and newest > self.newest.get(deployment_id, 0):
            self.newest[deployment_id] = newest
        if final is not None:
            self.final[deployment_id] = final
        if rows:
            if self.dropped or len(self.items) + len(rows) > self.limit:
                if not self.dropped:
                    self.overflows += 1
                    log.info(
                        "a subscriber of deployment %s fell %d rows behind; it catches up from the database",
                        deployment_id, len(self.items) + len(rows),
                    )
                for row in (*self.items, *rows):
                    key = row.deployment_id
                    self.dropped[key] = min(self.dropped.get(key, row.seq), row.seq)
                self.items.clear()
            else:
                self.items.extend(rows)
        self.ready.set()

    def poke(self, resync: bool = False) -> None:
        self.resync = self.resync or resync
        self.ready.set()

    def take_dropped(self) -> dict[int, int]:
        dropped, self.dropped = self.dropped, {}
        return dropped


@dataclass
class Topic:
    """The shared reader of one deployment's events and log lines."""

    deployment_id: int
    inboxes: dict[Kind, set[Inbox]] = field(default_factory=lambda: {kind: set() for kind in KINDS})
    # Newest seq this reader has read (None: start from the counter at the first read).
    read_upto: dict[Kind, int | None] = field(default_factory=lambda: dict.fromkeys(KINDS))
    dirty: bool = False
    task: asyncio.Task[None] | None = None

    @property
    def empty(self) -> bool:
        return not any(self.inboxes.values())

    async def read(self) -> None:
        while self.dirty and not self.empty:
            self.dirty = False
            try:
                await self._read_once()
            except Exception:  # the database failed: subscribers read it themselves (and see why)
                log.exception("reading deployment %s for subscribers failed", self.deployment_id)
                for inboxes in self.inboxes.values():
                    for inbox in inboxes:
                        inbox.poke(resync=True)
                return

    async def _read_once(self) -> None:
        found = (
            await DeploymentRow.filter(id=self.deployment_id)
            .limit(1)
            .values("status", "last_event_seq", "last_log_seq")
        )
        if not found:
            for inboxes in self.inboxes.values():
                for inbox in inboxes:
                    inbox.poke(resync=True)
            return
        # Status and counters in one read, rows after it: a concluded deployment's
        # counters are final, so once its rows up to them are read, nothing more comes.
        concluded = found[0]["status"] in TERMINAL_STATUSES
        for kind in KINDS:
            inboxes = self.inboxes[kind]
            if not inboxes:
                self.read_upto[kind] = None  # nobody reads it now: start afresh later
                continue
            counter = int(found[0][COUNTERS[kind]])
            start = self.read_upto[kind]
            if start is None:
                # First read: subscribers replay up to here from the database themselves.
                start = self.read_upto[kind] = counter
            rows: list[Any] = []
            if counter > start:
                # Read once for every subscriber; rows built without Tortoise's per-row cost.
                rows = await fetch_rows(
                    MODELS[kind]
                    .filter(deployment_id=self.deployment_id, seq__gt=start)
                    .order_by("seq")
                    .limit(READ_BATCH)
                )
                if rows:
                    self.read_upto[kind] = rows[-1].seq
                if len(rows) == READ_BATCH:
                    self.dirty = True
            upto = self.read_upto[kind] or 0
            final = counter if concluded and upto >= counter else None
            for inbox in list(self.inboxes[kind]):
                inbox.offer(self.deployment_id, rows, newest=max(counter, upto), final=final)


@dataclass
class FeedTopic:
    """The shared reader of every deployment's events, for `deploymentFeed`."""

    inboxes: set[Inbox] = field(default_factory=set)
    # Deployment id → newest event seq read. Filled by the first read with the deployments
    # not concluded then; a deployment absent from it is new if it has events after `watermark`.
    seen: dict[int, int] = field(default_factory=dict)
    concluded: set[int] = field(default_factory=set)
    projects: dict[int, int] = field(default_factory=dict)
    watermark: int = 0
    started: bool = False
    scan: bool = False
    dirty: dict[int, None] = field(default_factory=dict)  # insertion-ordered set
    task: asyncio.Task[None] | None = None

    async def read(self) -> None:
        while (self.dirty or self.scan or not self.started) and self.inboxes:
            try:
                if not self.started:
                    await self._start()
                if self.scan:
                    self.scan = False
                    await self._scan()
                while self.dirty and self.inboxes:
                    # Taken off before reading: a wake-up during the read marks it again.
                    deployment_id = next(iter(self.dirty))
                    del self.dirty[deployment_id]
                    try:
                        await self._read_deployment(deployment_id)
                    except Exception:
                        self.dirty[deployment_id] = None
                        raise
            except Exception:
                log.exception("reading the deployment feed failed")
                for inbox in self.inboxes:
                    inbox.poke(resync=True)
                return

    async def _newest_event_id(self) -> int:
        newest = await EventRow.all().order_by("-id").limit(1).values_list("id", flat=True)
        return int(str(newest[0])) if newest else 0

    async def _start(self) -> None:
        running = await DeploymentRow.exclude(status__in=list(TERMINAL_STATUSES)).values_list(
            "id", "last_event_seq"
        )
        self.watermark = await self._newest_event_id()
        self.seen = {int(pk): int(seq) for pk, seq in running}
        self.started = True

    async def _scan(self) -> None:
        """After lost wake-ups: every deployment that may have changed since."""
        newest = await self._newest_event_id()
        candidates = set(self.seen) - self.concluded
        running = await DeploymentRow.exclude(status__in=list(TERMINAL_STATUSES)).values_list("id", flat=True)
        candidates.update(int(str(pk)) for pk in running)
        changed = (
            await EventRow.filter(id__gt=self.watermark).distinct().values_list("deployment_id", flat=True)
        )
        candidates.update(int(str(pk)) for pk in changed)
        self.watermark = max(self.watermark, newest)
        for deployment_id in sorted(candidates):
            self.dirty[deployment_id] = None

    async def _read_deployment(self, deployment_id: int) -> None:
        start = self.seen.get(deployment_id)
        if start is None:
            # Not running when the feed started: concluded before (nothing new ever comes)
            # or created since (it has events after the watermark): then all of it.
            newer = await EventRow.filter(deployment_id=deployment_id, id__gt=self.watermark).exists()
            if not newer:
                return
            start = 0
        project_id = self.projects.get(deployment_id)
        if project_id is None:
            found = await DeploymentRow.filter(id=deployment_id).values_list("project_id", flat=True)
            if not found:
                return
            project_id = self.projects[deployment_id] = int(str(found[0]))
        while True:
            rows = (
                await EventRow.filter(deployment_id=deployment_id, seq__gt=start)
                .order_by("seq")
                .limit(READ_BATCH)
            )
            if not rows:
                return
            start = self.seen[deployment_id] = rows[-1].seq
            if any(row.type == DeploymentEventType.CONCLUDED for row in rows):
                self.concluded.add(deployment_id)
            for inbox in list(self.inboxes):
                if inbox.admits is None or inbox.admits(project_id):
                    inbox.offer(deployment_id, rows)
            if len(rows) < READ_BATCH:
                return


class Broker:
    def __init__(self) -> None:
        self.topics: dict[int, Topic] = {}
        self.feed: FeedTopic | None = None
        self.wakeups = 0

    # -- producers -------------------------------------------------------------------

    def wake(self, deployment_id: int) -> None:
        """Deployment `deployment_id` committed something: read it for local subscribers."""
        self.wakeups += 1
        topic = self.topics.get(deployment_id)
        if topic is not None:
            topic.dirty = True
            self._run(topic)
        if self.feed is not None:
            self.feed.dirty[deployment_id] = None
            self._run(self.feed)

    def wake_all(self) -> None:
        """Wake-ups may have been lost (the LISTEN connection dropped): read everything."""
        for topic in list(self.topics.values()):
            topic.dirty = True
            self._run(topic)
        if self.feed is not None:
            self.feed.scan = True
            self._run(self.feed)

    def _run(self, reader: Topic | FeedTopic) -> None:
        if reader.task is None or reader.task.done():
            reader.task = asyncio.get_running_loop().create_task(reader.read())

    # -- subscribers -----------------------------------------------------------------

    @contextmanager
    def subscribe(self, deployment_id: int, kind: Kind, inbox: Inbox) -> Iterator[Inbox]:
        """Offer the deployment's new rows of `kind` to `inbox` from now on. Register before
        reading the database, so nothing committed in between is missed."""
        topic = self.topics.get(deployment_id)
        if topic is None:
            topic = self.topics[deployment_id] = Topic(deployment_id)
        topic.inboxes[kind].add(inbox)
        try:
            yield inbox
        finally:
            topic.inboxes[kind].discard(inbox)
            if topic.empty and self.topics.get(deployment_id) is topic:
                del self.topics[deployment_id]

    def seed(self, deployment_id: int, kind: Kind, seq: int) -> None:
        """A subscriber has read the database up to `seq`: a reader not started yet
        starts there (instead of at the counter, which would make a gap to read)."""
        topic = self.topics.get(deployment_id)
        if topic is not None and topic.inboxes[kind] and topic.read_upto[kind] is None:
            topic.read_upto[kind] = seq

    @contextmanager
    def subscribe_feed(self, inbox: Inbox) -> Iterator[Inbox]:
        """Offer every deployment's new events (those `inbox.admits`) to `inbox` from now on."""
        if self.feed is None:
            self.feed = FeedTopic()
        feed = self.feed
        feed.inboxes.add(inbox)
        self._run(feed)
        try:
            yield inbox
        finally:
            feed.inboxes.discard(inbox)
            if not feed.inboxes and self.feed is feed:
                self.feed = None


broker = Broker()


def on_commit(deployment_id: int, event_seq: int | None, log_seq: int | None) -> None:
    """Lifecycle commit listener: wake local subscribers."""
    broker.wake(deployment_id)
