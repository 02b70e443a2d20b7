"""Retention of the database categories, with a clock the test controls (`now` is passed in):
log lines pruned past their cutoff with the record intact, observations trimmed to N per
service, settled deliveries pruned, batching, and the dry run changing nothing."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from berth.domain.artifact import load_artifact
from berth.domain.queries import list_log_lines
from berth.domain.retention import (
    External,
    LogLines,
    Observations,
    prunables,
    prune_category,
    run_pass,
)
from berth.domain.secrets import encrypt
from berth.models import (
    CommitStatus,
    Deployment,
    DeploymentEvent,
    DeploymentStep,
    GitHook,
    LogLine,
    NotificationChannel,
    NotificationDelivery,
    Observation,
    Service,
    WebhookDelivery,
)
from berth.models.enums import (
    CommitState,
    DeploymentConclusion,
    DriftStatus,
    GitProvider,
    NotificationDeliveryStatus,
    NotificationKind,
    WebhookOutcome,
)
from berth.models.lifecycle import LogEntry, append_logs, conclude_from_queue
from berth.runner.prune_command import dry_run
from berth.runner.pruner import Pruner
from berth.settings import get_settings
from tests.conftest import Database
from tests.models.factories import make_deployment, make_service
from tests.runner.executor_support import owner

DAY = timedelta(days=1)


async def concluded_with_lines(service: Service, count: int) -> Deployment:
    deployment = await make_deployment(service)
    await append_logs(deployment.id, [LogEntry(f"line {n}") for n in range(1, count + 1)])
    await conclude_from_queue(deployment.id, DeploymentConclusion.CANCELED)
    return await Deployment.get(id=deployment.id)


async def test_logs_go_past_the_cutoff_and_the_record_stays_whole(db: Database) -> None:
    service = await make_service()
    old = await concluded_with_lines(service, 35)
    running = await make_deployment(service)  # not concluded: its lines are never due
    await append_logs(running.id, [LogEntry("still running")])
    assert old.concluded_at is not None
    artifact_before = await load_artifact(old, owner())
    steps_before = await DeploymentStep.filter(deployment_id=old.id).count()
    events_before = await DeploymentEvent.filter(deployment_id=old.id).count()
    logs = LogLines(days=30)

    # 29 days later: nothing is due yet.
    early = old.concluded_at + 29 * DAY
    assert await logs.count_candidates(early) == 0
    assert (await prune_category(logs, early, 10)).removed == 0
    assert await LogLine.filter(deployment_id=old.id).count() == 35

    # 31 days later: all 35 lines go, 10 per batch: 4 batches.
    later = old.concluded_at + 31 * DAY
    assert await logs.count_candidates(later) == 35
    result = await prune_category(logs, later, 10)
    assert (result.removed, result.batches) == (35, 4)
    assert await LogLine.filter(deployment_id=old.id).count() == 0
    assert await LogLine.filter(deployment_id=running.id).count() == 1
    assert await logs.count_candidates(later) == 0

    pruned = await Deployment.get(id=old.id)
    assert pruned.logs_pruned_at == later
    assert (await Deployment.get(id=running.id)).logs_pruned_at is None
    # The record: conclusion, counters, steps, events and artifact as they were.
    assert (pruned.status, pruned.conclusion, pruned.last_log_seq) == (old.status, old.conclusion, 35)
    assert await DeploymentStep.filter(deployment_id=old.id).count() == steps_before
    assert await DeploymentEvent.filter(deployment_id=old.id).count() == events_before
    assert await load_artifact(pruned, owner()) == artifact_before
    assert "logsPrunedAt" not in str(artifact_before)  # the artifact is the record, not its upkeep
    page = await list_log_lines(old.id)
    assert (page.nodes, page.has_next_page) == ([], False)

    # A second pass (another runner, or the next hour) finds nothing and keeps the mark.
    again = await prune_category(logs, later + DAY, 10)
    assert (again.removed, again.batches) == (0, 0)
    assert (await Deployment.get(id=old.id)).logs_pruned_at == later


async def test_a_deployment_that_never_logged_is_not_marked(db: Database) -> None:
    service = await make_service()
    silent = await make_deployment(service)
    await conclude_from_queue(silent.id, DeploymentConclusion.SKIPPED)
    row = await Deployment.get(id=silent.id)
    assert row.concluded_at is not None
    result = await prune_category(LogLines(days=1), row.concluded_at + 2 * DAY, 10)
    assert result.removed == 0
    assert (await Deployment.get(id=silent.id)).logs_pruned_at is None


async def test_observations_are_trimmed_to_the_newest_n_per_service(db: Database) -> None:
    first, second = await make_service(), await make_service()
    start = datetime.now(UTC) - 30 * DAY
    for service, count in ((first, 12), (second, 3)):
        for n in range(count):
            await Observation.create(service_id=service.id, observed_at=start + n * timedelta(minutes=1),
                                     drift=DriftStatus.IN_SYNC, containers=[], differences=[])
    newest_first = list(await Observation.filter(service_id=first.id).order_by("-observed_at")
                        .values_list("id", flat=True))
    observations = Observations(keep=5)
    assert await observations.count_candidates(datetime.now(UTC)) == 7
    result = await prune_category(observations, datetime.now(UTC), 2)
    assert (result.removed, result.batches) == (7, 4)
    kept = set(await Observation.filter(service_id=first.id).values_list("id", flat=True))
    assert kept == set(newest_first[:5])
    assert await Observation.filter(service_id=second.id).count() == 3


async def _deliveries(service: Service, moment: datetime) -> dict[str, list[int]]:
    """Old and new rows of each delivery table; the value says which should survive."""
    old, new = moment - 40 * DAY, moment - DAY
    hook = await GitHook.create(service=service, provider=GitProvider.GITHUB, repository="acme/app",
                                branch="main", secret_enc=encrypt("s"), created_at=old)
    channel = await NotificationChannel.create(project_id=service.project_id,  # type: ignore[attr-defined]
                                               name="chat", kind=NotificationKind.WEBHOOK,
                                               url_enc=encrypt("http://127.0.0.1:9/"), events=["deployment.*"],
                                               created_at=old)
    deployment = await make_deployment(service)
    gone: list[int] = []
    kept: list[int] = []
    for at, bucket in ((old, gone), (new, kept)):
        delivery = await WebhookDelivery.create(hook=hook, event="push", received_at=at,
                                                outcome=WebhookOutcome.SKIPPED)
        bucket.append(delivery.id)
    for at, status, bucket in ((old, NotificationDeliveryStatus.DELIVERED, gone),
                               (old, NotificationDeliveryStatus.FAILED, gone),
                               (old, NotificationDeliveryStatus.PENDING, kept),  # still owed
                               (new, NotificationDeliveryStatus.DELIVERED, kept)):
        row = await NotificationDelivery.create(channel=channel, deployment=deployment, event="deployment.started",
                                                delivery_id=f"{at.timestamp()}-{status}", payload={},
                                                status=status, next_attempt_at=at, created_at=at)
        bucket.append(-row.id)  # negative: notification ids
    for at, sent, bucket in ((old, True, gone), (old, False, kept), (new, True, kept)):
        status = await CommitStatus.create(hook=hook, deployment=deployment, commit_sha="a" * 40,
                                           state=CommitState.PENDING, description="d", target_url="/",
                                           created_at=at, next_attempt_at=at, sent_at=at if sent else None)
        bucket.append(10**12 + status.id)  # offset: commit status ids
    return {"gone": gone, "kept": kept}


async def _present() -> set[int]:
    return ({*await WebhookDelivery.all().values_list("id", flat=True)}
            | {-i for i in await NotificationDelivery.all().values_list("id", flat=True)}
            | {10**12 + i for i in await CommitStatus.all().values_list("id", flat=True)})  # type: ignore[operator]


async def test_settled_deliveries_go_after_their_days_and_pending_ones_stay(db: Database) -> None:
    moment = datetime.now(UTC)
    expected = await _deliveries(await make_service(), moment)
    categories = {p.name: p for p in prunables(get_settings())}
    assert {"webhook deliveries", "notification deliveries", "commit statuses"} <= set(categories)
    assert await categories["notification deliveries"].count_candidates(moment) == 2
    result = await run_pass(list(categories.values()), moment, 1)
    by_name = {category.name: category for category in result.categories}
    assert by_name["webhook deliveries"].removed == 1
    assert (by_name["notification deliveries"].removed, by_name["notification deliveries"].batches) == (2, 2)
    assert by_name["commit statuses"].removed == 1
    assert await _present() == set(expected["kept"])


async def test_the_dry_run_counts_and_changes_nothing(db: Database) -> None:
    service = await make_service()
    old = await concluded_with_lines(service, 7)
    assert old.concluded_at is not None
    moment = old.concluded_at + 45 * DAY
    expected = await _deliveries(service, moment)
    before = await _present()
    out = io.StringIO()
    await dry_run(get_settings(), Pruner(get_settings(), clock=lambda: moment), out, images=False)
    text = out.getvalue()
    assert "log lines: 7 would go (of deployments concluded older than 30 days" in text
    assert "notification deliveries: 2 would go (older than 30 days" in text
    assert "observations: 0 would go (beyond the newest 100 of each service)" in text
    assert await LogLine.filter(deployment_id=old.id).count() == 7
    assert (await Deployment.get(id=old.id)).logs_pruned_at is None
    assert await _present() == before
    assert set(expected["gone"]) <= before


async def test_zero_keeps_a_category_forever(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from berth.settings import reset_settings

    monkeypatch.setenv("BERTH_RETENTION_LOG_DAYS", "0")
    monkeypatch.setenv("BERTH_RETENTION_DELIVERIES_DAYS", "0")
    reset_settings()
    names = [p.name for p in prunables(get_settings())]
    assert names == ["observations"]


async def test_an_external_category_plugs_in_with_one_entry(db: Database) -> None:
    """How the audit trail's `prune_audit_events(older_than, batch)` joins a pass."""
    asked: list[tuple[datetime, int]] = []
    left = [25]

    async def prune(older_than: datetime, batch: int) -> int:
        asked.append((older_than, batch))
        removed = min(batch, left[0])
        left[0] -= removed
        return removed

    moment = datetime(2030, 1, 31, tzinfo=UTC)
    result = await run_pass([External("audit events", 30, prune)], moment, 10)
    [category] = result.categories
    assert (category.removed, category.batches) == (25, 3)
    assert asked[0] == (datetime(2030, 1, 1, tzinfo=UTC), 10)


async def test_the_background_pass_runs_on_its_interval(db: Database) -> None:
    """The task beside the runner: its first pass comes after the interval (here short),
    with the clock it was given."""
    import asyncio
    import dataclasses
    import time

    service = await make_service()
    old = await concluded_with_lines(service, 12)
    assert old.concluded_at is not None
    moment = old.concluded_at + 31 * DAY
    settings = dataclasses.replace(get_settings(), retention_interval_seconds=0.2, retention_batch=5)
    pruner = Pruner(settings, clock=lambda: moment, categories=[LogLines(days=30)])

    async def no_servers(server: object) -> object:
        raise AssertionError("no server to reach")

    pruner.engine_factory = no_servers  # type: ignore[assignment]
    await pruner.start()
    try:
        deadline = time.monotonic() + 30
        while pruner.last_report is None:
            assert time.monotonic() < deadline, "no pass within 30 s"
            await asyncio.sleep(0.05)
    finally:
        await pruner.stop()
    [category] = pruner.last_report.database.categories
    assert (category.removed, category.batches) == (12, 3)
    assert (await Deployment.get(id=old.id)).logs_pruned_at == moment


async def test_audit_entries_go_in_the_pass_when_their_days_are_set(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit trail's own pruner (the one sanctioned deleter, past the append-only trigger on
    PostgreSQL) is a category of the pass once BERTH_AUDIT_RETENTION_DAYS is set."""
    from berth.models.audit import AuditEvent, AuditOutcome
    from berth.settings import get_settings, reset_settings

    monkeypatch.setenv("BERTH_AUDIT_RETENTION_DAYS", "30")
    reset_settings()
    try:
        [audit] = [p for p in prunables(get_settings()) if p.name == "audit events"]
        moment = datetime(2030, 1, 31, tzinfo=UTC)
        for days in (40, 35, 31, 29):
            await AuditEvent.create(at=moment - timedelta(days=days), action="server.create",
                                    outcome=AuditOutcome.OK, details={})
        assert await audit.count_candidates(moment) == 3
        result = await run_pass([audit], moment, 2)
        [category] = result.categories
        assert (category.removed, category.batches, category.error) == (3, 2, None)
        assert [e.at for e in await AuditEvent.all()] == [moment - timedelta(days=29)]
    finally:
        monkeypatch.delenv("BERTH_AUDIT_RETENTION_DAYS")
        reset_settings()
