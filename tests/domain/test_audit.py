"""The audit trail in process: an entry commits with its change or not at all, after-commit
wake-ups wait for the real commit, secrets are redacted, refusals are folded under a flood,
and the table is append-only on PostgreSQL except for the retention pruner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.exceptions import OperationalError
from tortoise.transactions import in_transaction

from berth.auth.scopes import ALL_SCOPES
from berth.domain import audit, audit_refusals
from berth.domain.audit_retention import prune_audit_events, retention_cutoff
from berth.ids import to_global_id
from berth.models import AuditEvent, Deployment
from berth.models.audit import AuditOutcome
from berth.models.lifecycle import add_commit_listener, remove_commit_listener
from berth.models.sql import get_connection
from berth.schema import build_schema
from berth.schema.context import Context
from berth.settings import Settings

from . import image_service, owner

START = """mutation($id: ID!) { startDeployment(input: {serviceId: $id}) {
  deployment { id number } errors { code message } } }"""


async def start(service_id: int) -> Any:
    schema = build_schema()
    principal = owner()
    assert principal.scopes == frozenset(s.value for s in ALL_SCOPES)
    return await schema.execute(
        START, variable_values={"id": to_global_id("Service", service_id)},
        context_value=Context(request=None, principal=principal, type_scopes=schema.type_scopes),
    )


async def test_a_started_deployment_and_its_entry_commit_together(db) -> None:
    service = await image_service()
    result = await start(service.id)
    assert result.errors is None and result.data["startDeployment"]["errors"] == []
    deployment = await Deployment.get(service_id=service.id)
    entry = await AuditEvent.get(action="deployment.start")
    assert entry.outcome == AuditOutcome.OK
    assert (entry.target_type, entry.target_pk, entry.project_id) == ("Deployment", deployment.id,
                                                                      service.project_id)  # type: ignore[attr-defined]
    assert entry.target_label is not None and entry.target_label.endswith(f"/{service.name} #1")
    assert entry.details["input"] == {"input": {"serviceId": to_global_id("Service", service.id)}}


async def test_a_change_rolled_back_after_it_was_made_leaves_no_ok_entry(db, monkeypatch) -> None:
    """Fail inside the transaction after the domain stored the deployment (the entry's own
    insert): neither the deployment nor an OK entry remains; a FAILED entry says what happened."""
    service = await image_service()
    real_write = audit.write

    async def failing_write(entry: audit.Entry, conn: Any = None) -> AuditEvent:
        if entry.outcome is AuditOutcome.OK:
            assert await Deployment.filter(service_id=service.id).using_db(conn).exists()  # the change is there
            raise RuntimeError("the database went away")
        return await real_write(entry, conn)

    monkeypatch.setattr(audit, "write", failing_write)
    result = await start(service.id)

    assert result.errors and result.errors[0].message  # masked as an internal error by the server
    assert not await Deployment.filter(service_id=service.id).exists()
    entries = await AuditEvent.all()
    assert [(e.action, e.outcome) for e in entries] == [("deployment.start", AuditOutcome.FAILED)]
    assert entries[0].details["error"] == "RuntimeError"


async def test_commit_listeners_wake_after_the_outer_commit(db) -> None:
    """The lifecycle's after-commit wake-up runs once the audited transaction committed,
    outside any transaction, with the new deployment visible."""
    service = await image_service()
    woken: list[tuple[int, bool, bool]] = []

    async def listener(deployment_id: int, event_seq: int | None, log_seq: int | None) -> None:
        in_tx = isinstance(get_connection(), TransactionalDBClient)
        woken.append((deployment_id, in_tx, await Deployment.filter(id=deployment_id).exists()))

    add_commit_listener(listener)
    try:
        result = await start(service.id)
    finally:
        remove_commit_listener(listener)
    assert result.errors is None
    deployment = await Deployment.get(service_id=service.id)
    assert woken and all(entry == (deployment.id, False, True) for entry in woken)


async def test_a_refused_start_rolls_back_and_is_refused(db) -> None:
    service = await image_service()
    service.deleted_at = datetime.now(UTC)
    await service.save(update_fields=["deleted_at"])
    result = await start(service.id)
    assert result.data["startDeployment"]["errors"][0]["code"] == "CONFLICT"
    entry = await AuditEvent.get(action="deployment.start")
    assert entry.outcome == AuditOutcome.REFUSED and entry.details["errors"][0]["code"] == "CONFLICT"
    assert (entry.target_type, entry.target_pk) == ("Service", service.id)


def test_secrets_in_inputs_are_redacted() -> None:
    asked = {"input": {
        "password": "pw", "statusToken": "st", "url": "https://hooks.slack.test/T/B/x",
        "gitAuth": {"token": "gt", "sshPrivateKey": "-----BEGIN", "username": "me"},
        "env": [{"key": "A", "value": "secret-value", "secret": True}, {"key": "B", "value": "plain"}],
        "tlsClientKey": "k", "name": "kept", "tokenEnc": "ciphertext",
    }}
    redacted = audit.redact_input(asked)["input"]
    assert redacted["password"] == redacted["statusToken"] == redacted["url"] == redacted["tlsClientKey"] == "***"
    assert redacted["gitAuth"] == {"token": "***", "sshPrivateKey": "***", "username": "me"}
    assert redacted["env"] == [{"key": "A", "value": "***", "secret": True}, {"key": "B", "value": "plain"}]
    assert redacted["name"] == "kept" and "tokenEnc" not in redacted
    # Left-out arguments are dropped; NUL (which PostgreSQL's jsonb refuses) is replaced.
    assert audit.redact_input({"reason": None, "name": "a\x00b"}) == {"name": "a\ufffdb"}


async def test_identical_refusals_are_folded_and_counted(db) -> None:
    audit_refusals.reset_window()
    assert await audit_refusals.record_refusal("API token is not valid", "10.0.0.1", "http")
    for _ in range(3):
        assert not await audit_refusals.record_refusal("API token is not valid", "10.0.0.1", "http")
    # Another address, transport or reason is its own entry.
    assert await audit_refusals.record_refusal("API token is not valid", "10.0.0.2", "http")
    assert await audit_refusals.record_refusal("API token is not valid", "10.0.0.1", "websocket")
    # Once the window has passed, the next entry says how many it folded in.
    key = ("10.0.0.1", "http", "API token is not valid")
    moment, folded = audit_refusals._recent[key]
    audit_refusals._recent[key] = (moment - audit_refusals.WINDOW_SECONDS, folded)
    assert await audit_refusals.record_refusal("API token is not valid", "10.0.0.1", "http")
    entries = await AuditEvent.all().order_by("id")
    assert [e.remote_address for e in entries] == ["10.0.0.1", "10.0.0.2", "10.0.0.1", "10.0.0.1"]
    assert entries[-1].details == {"reason": "API token is not valid", "transport": "http", "repeated": 3}
    audit_refusals.reset_window()


async def entry_at(moment: datetime, action: str = "server.create") -> AuditEvent:
    return await AuditEvent.create(at=moment, action=action, outcome=AuditOutcome.OK, details={})


async def test_pruning_removes_only_entries_older_than_the_cutoff(db) -> None:
    now = datetime.now(UTC)
    old = [await entry_at(now - timedelta(days=40, minutes=i)) for i in range(7)]
    kept = await entry_at(now - timedelta(days=1))
    assert await prune_audit_events(now - timedelta(days=30), batch=3) == len(old)
    assert [e.id for e in await AuditEvent.all()] == [kept.id]
    assert await prune_audit_events(now - timedelta(days=30), batch=3) == 0


def test_retention_is_forever_unless_set(tmp_path) -> None:
    base = Settings(data_dir=tmp_path, database_url="sqlite://:memory:", secret_key=None, docker_host="")
    assert retention_cutoff(base) is None
    moment = datetime(2026, 1, 31, tzinfo=UTC)
    configured = Settings(data_dir=tmp_path, database_url="sqlite://:memory:", secret_key=None, docker_host="",
                          audit_retention_days=30)
    assert retention_cutoff(configured, moment) == datetime(2026, 1, 1, tzinfo=UTC)


# The trigger is PostgreSQL's (on SQLite, no code path changes an entry).
@pytest.mark.parametrize("database", ["postgres"], indirect=True)
async def test_postgres_refuses_update_and_delete_of_entries(db) -> None:
    entry = await entry_at(datetime.now(UTC) - timedelta(days=90))
    with pytest.raises(OperationalError, match="append-only"):
        await AuditEvent.filter(id=entry.id).update(action="tampered")
    with pytest.raises(OperationalError, match="append-only"):
        await AuditEvent.filter(id=entry.id).delete()
    with pytest.raises(OperationalError, match="append-only"):
        await get_connection().execute_script("TRUNCATE audit_event")
    # The setting only counts inside the pruner's own transaction; UPDATE is never allowed.
    async with in_transaction() as conn:
        await conn.execute_query("SET LOCAL berth.audit_prune = 'on'")
        with pytest.raises(OperationalError, match="append-only"):
            await AuditEvent.filter(id=entry.id).using_db(conn).update(action="tampered")
    assert (await AuditEvent.get(id=entry.id)).action == "server.create"
    assert await prune_audit_events(datetime.now(UTC), batch=10) == 1
    assert not await AuditEvent.exists()
