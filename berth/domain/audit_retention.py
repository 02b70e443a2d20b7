"""The one sanctioned deleter of audit entries: retention (BERTH_AUDIT_RETENTION_DAYS).

Entries older than the cutoff go in small batches, each its own short transaction, so the
table is never locked for long. On PostgreSQL the append-only trigger refuses every DELETE
unless the transaction says it is this pruner (`SET LOCAL berth.audit_prune = 'on'`,
which ends with the transaction).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from berth.models.audit import AuditEvent
from berth.models.lifecycle import now
from berth.models.sql import CONNECTION, dialect
from berth.settings import Settings

DEFAULT_BATCH = 500


def retention_cutoff(settings: Settings, moment: datetime | None = None) -> datetime | None:
    """Entries before this moment may go; None when entries are kept forever."""
    days = settings.audit_retention_days
    if not days or days <= 0:
        return None
    return (moment or now()) - timedelta(days=days)


async def prune_audit_batch(older_than: datetime, batch: int = DEFAULT_BATCH) -> int:
    """Delete at most `batch` of the oldest entries from before `older_than`, in one short
    transaction; how many went (the retention pass calls this until it returns 0)."""
    async with in_transaction(CONNECTION) as conn:
        ids = [row["id"] for row in await AuditEvent.filter(at__lt=older_than).using_db(conn)
               .order_by("at", "id").limit(batch).values("id")]
        if not ids:
            return 0
        if dialect(conn) == "postgres":
            await conn.execute_query("SET LOCAL berth.audit_prune = 'on'")
        await AuditEvent.filter(id__in=ids).using_db(conn).delete()
    return len(ids)


async def prune_audit_events(older_than: datetime, batch: int = DEFAULT_BATCH) -> int:
    """Delete the entries from before `older_than`, oldest first, `batch` at a time; how many."""
    removed = 0
    while True:
        pruned = await prune_audit_batch(older_than, batch)
        removed += pruned
        if pruned < batch:
            return removed


async def count_audit_candidates(older_than: datetime) -> int:
    return int(await AuditEvent.filter(at__lt=older_than).count())
