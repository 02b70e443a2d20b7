"""Retention of the database's growing tables (docs/retention.md): what goes, in small batches.

Each category is a `Prunable`: `count_candidates(now)` says how many rows a pass would
remove (for `berth prune --dry-run`), `prune_batch(now, limit)` removes at most `limit` of
them in one short transaction and returns how many it removed. A pass (`run_pass`) calls
`prune_batch` until it returns 0, yielding to the event loop between batches, so a pass
never holds a lock on a hot table for longer than one batch takes.

Every batch selects what is due afresh and deletes by id: two runner processes pruning at
once do harmless double work (the second finds the rows gone), and a pass cut short is
simply continued by the next one. `now` is a parameter everywhere: the caller's clock.

Log lines go per deployment: a concluded deployment's lines all go once it concluded more
than the retention ago, and `logs_pruned_at` is set on the record when none is left, so a
reader can tell "pruned" from "never logged". The record itself (steps, events, artifact,
frozen input) is never touched: rollback to it works as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from berth.domain.audit_retention import count_audit_candidates, prune_audit_batch
from berth.models import CommitStatus, Deployment, NotificationDelivery, Observation, WebhookDelivery
from berth.models.enums import NotificationDeliveryStatus
from berth.models.sql import CONNECTION, fetch, get_connection, placeholders
from berth.settings import Settings

# Deployments whose log lines one batch works through (their lines, up to the batch limit).
LOG_DEPLOYMENTS_PER_BATCH = 100


class Prunable(Protocol):
    """One category of rows retention removes."""

    name: str

    def cutoff(self, now: datetime) -> str:
        """What the category keeps, in words (`older than 2026-11-04T00:00:00+00:00`)."""
        ...

    async def count_candidates(self, now: datetime) -> int | None:
        """How many rows a pass at `now` would remove (None: the category cannot tell)."""
        ...

    async def prune_batch(self, now: datetime, limit: int) -> int:
        """Remove at most `limit` rows due at `now`, in one transaction; how many went."""
        ...


def _before(now: datetime, days: float) -> datetime:
    return now - timedelta(days=days)


def _older_than(now: datetime, days: float) -> str:
    return f"older than {days:g} day{'s' if days != 1 else ''} (before {_before(now, days).isoformat()})"


async def _delete_ids(model: Any, query: Any, limit: int) -> int:
    """Select up to `limit` ids of `query` and delete them, in one transaction."""
    async with in_transaction(CONNECTION) as conn:
        ids = list(await query.using_db(conn).order_by("id").limit(limit).values_list("id", flat=True))
        if not ids:
            return 0
        return int(await model.filter(id__in=ids).using_db(conn).delete())


@dataclass
class LogLines:
    """Log lines of deployments concluded more than `days` days ago."""

    days: int
    name: str = "log lines"

    def cutoff(self, now: datetime) -> str:
        return "of deployments concluded " + _older_than(now, self.days)

    def _due(self, now: datetime) -> Any:
        return Deployment.filter(
            logs_pruned_at__isnull=True, concluded_at__lt=_before(now, self.days), last_log_seq__gt=0
        )

    async def count_candidates(self, now: datetime) -> int:
        conn = get_connection()
        ids = list(await self._due(now).values_list("id", flat=True))
        total = 0
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = await fetch(conn, f"SELECT COUNT(*) AS n FROM log_line WHERE deployment_id IN ({marks})", chunk)
            total += int(rows[0]["n"])
        return total

    async def deployments_due(self, now: datetime) -> int:
        return int(await self._due(now).count())

    async def prune_batch(self, now: datetime, limit: int) -> int:
        async with in_transaction(CONNECTION) as conn:
            chunk = list(await self._due(now).using_db(conn).order_by("concluded_at", "id")
                         .limit(LOG_DEPLOYMENTS_PER_BATCH).values_list("id", flat=True))
            if not chunk:
                return 0
            marks = ", ".join("?" for _ in chunk)
            deleted, _ = await conn.execute_query(placeholders(conn, (
                f"DELETE FROM log_line WHERE id IN (SELECT id FROM log_line WHERE deployment_id IN ({marks})"
                " LIMIT ?)")), [*chunk, limit])
            # The deployments of the chunk with no line left: their logs are pruned now.
            emptied = await fetch(conn, (
                f"SELECT id FROM deployment WHERE id IN ({marks}) AND NOT EXISTS "
                "(SELECT 1 FROM log_line WHERE log_line.deployment_id = deployment.id)"), list(chunk))
            if emptied:
                await Deployment.filter(id__in=[int(row["id"]) for row in emptied], logs_pruned_at__isnull=True
                                        ).using_db(conn).update(logs_pruned_at=now)
        return int(deleted)


@dataclass
class Observations:
    """Observations beyond the newest `keep` of each service."""

    keep: int
    name: str = "observations"

    def cutoff(self, now: datetime) -> str:
        return f"beyond the newest {self.keep} of each service"

    def _ranked(self) -> str:
        return ("SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY service_id"
                " ORDER BY observed_at DESC, id DESC) AS position FROM observation) ranked WHERE position > ?")

    async def count_candidates(self, now: datetime) -> int:
        rows = await fetch(get_connection(), f"SELECT COUNT(*) AS n FROM ({self._ranked()}) due", [self.keep])
        return int(rows[0]["n"])

    async def prune_batch(self, now: datetime, limit: int) -> int:
        async with in_transaction(CONNECTION) as conn:
            rows = await fetch(conn, f"{self._ranked()} ORDER BY id LIMIT ?", [self.keep, limit])
            if not rows:
                return 0
            return int(await Observation.filter(id__in=[int(r["id"]) for r in rows]).using_db(conn).delete())


@dataclass
class ByAge:
    """Rows older than `days` days of one table: `query(before)` selects those due."""

    name: str
    days: int
    model: Any
    query: Callable[[datetime], Any]

    def cutoff(self, now: datetime) -> str:
        return _older_than(now, self.days)

    async def count_candidates(self, now: datetime) -> int:
        return int(await self.query(_before(now, self.days)).count())

    async def prune_batch(self, now: datetime, limit: int) -> int:
        return await _delete_ids(self.model, self.query(_before(now, self.days)), limit)


@dataclass
class External:
    """A category pruned by a function of its own module, `prune(older_than, batch) -> int`
    (the audit trail's `prune_audit_events`): plugged in with one entry in `prunables`."""

    name: str
    days: float
    prune: Callable[[datetime, int], Awaitable[int]]
    count: Callable[[datetime], Awaitable[int]] | None = None

    def cutoff(self, now: datetime) -> str:
        return _older_than(now, self.days)

    async def count_candidates(self, now: datetime) -> int | None:
        return await self.count(_before(now, self.days)) if self.count is not None else None

    async def prune_batch(self, now: datetime, limit: int) -> int:
        return await self.prune(_before(now, self.days), limit)


def webhook_deliveries(days: int) -> ByAge:
    # Received pushes and pull-request events, whatever their outcome.
    return ByAge("webhook deliveries", days, WebhookDelivery, lambda before: WebhookDelivery.filter(
        received_at__lt=before))


def notification_deliveries(days: int) -> ByAge:
    # Settled ones only: a PENDING delivery is still owed to its receiver.
    return ByAge("notification deliveries", days, NotificationDelivery, lambda before: NotificationDelivery.filter(
        created_at__lt=before, status__in=[NotificationDeliveryStatus.DELIVERED, NotificationDeliveryStatus.FAILED]))


def commit_statuses(days: int) -> ByAge:
    # The commit-status outbox: sent or abandoned ones only, as for notifications.
    return ByAge("commit statuses", days, CommitStatus, lambda before: CommitStatus.filter(
        Q(sent_at__isnull=False) | Q(abandoned_at__isnull=False), created_at__lt=before))


def prunables(settings: Settings) -> list[Prunable]:
    """The database categories the settings prune (a 0 setting keeps that category forever)."""
    found: list[Prunable] = []
    if settings.retention_log_days:
        found.append(LogLines(settings.retention_log_days))
    if settings.retention_observations:
        found.append(Observations(settings.retention_observations))
    if settings.retention_deliveries_days:
        days = settings.retention_deliveries_days
        found += [webhook_deliveries(days), notification_deliveries(days), commit_statuses(days)]
    if settings.audit_retention_days:
        found.append(External("audit events", settings.audit_retention_days, prune_audit_batch,
                              count=count_audit_candidates))
    return found


@dataclass
class CategoryResult:
    name: str
    cutoff: str
    removed: int = 0
    batches: int = 0
    error: str | None = None


@dataclass
class PassResult:
    categories: list[CategoryResult] = field(default_factory=list)

    @property
    def removed(self) -> int:
        return sum(category.removed for category in self.categories)


OnBatch = Callable[[CategoryResult], None]


async def prune_category(prunable: Prunable, now: datetime, batch: int, *, pause: float = 0.0,
                         on_batch: OnBatch | None = None, stop: asyncio.Event | None = None) -> CategoryResult:
    """Batches of one category until none is left (or `stop` is set). Between batches the
    loop yields (`pause` seconds, 0: just a turn of the event loop), so reads and the
    runner's own writes get the database in between."""
    result = CategoryResult(prunable.name, prunable.cutoff(now))
    while stop is None or not stop.is_set():
        removed = await prunable.prune_batch(now, batch)
        if removed <= 0:
            break
        result.removed += removed
        result.batches += 1
        if on_batch is not None:
            on_batch(result)
        await asyncio.sleep(pause)
    return result


async def run_pass(categories: Sequence[Prunable], now: datetime, batch: int, *, pause: float = 0.0,
                   on_batch: OnBatch | None = None, stop: asyncio.Event | None = None) -> PassResult:
    """One pass over every category; a category that fails is reported and the rest go on."""
    result = PassResult()
    for prunable in categories:
        try:
            result.categories.append(
                await prune_category(prunable, now, batch, pause=pause, on_batch=on_batch, stop=stop))
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the database away for a moment: the next pass continues
            result.categories.append(CategoryResult(prunable.name, prunable.cutoff(now),
                                                    error=f"{type(error).__name__}: {error}"[:200]))
    return result
