"""Commit statuses from the outbox to a provider API, on SQLite and PostgreSQL: signed pushes
received by the webhook code, deployments concluded through the lifecycle rules (as the
runner concludes them), and the sender POSTing to a loopback server standing in for GitHub,
GitLab and Gitea (the real providers are unreachable here), retries and abandonment included.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from berth.domain.commit_status_outbox import retry_delay
from berth.domain.errors import InvalidInput
from berth.domain.git_hooks import GitHookSpec, create_git_hook, hook_secret
from berth.domain.inventory import create_project, create_service
from berth.domain.specs import ProjectSpec, ServiceSpec, SourceSpec
from berth.domain.webhooks import Request, receive
from berth.models import CommitStatus, Deployment, GitHook
from berth.models.enums import (
    CommitState,
    DeploymentConclusion,
    DeploymentStatus,
    ErrorCode,
    GitProvider,
    SourceType,
    StepKind,
    StepStatus,
)
from berth.models.lifecycle import StepChange, apply_change, conclude_from_queue
from berth.runner.status_sender import StatusSender
from berth.settings import get_settings
from tests.conftest import Database
from tests.runner.runner_support import make_server, owner, succeed
from tests.support.names import unique
from tests.support.polling import poll
from tests.support.status_receiver import Received, StatusReceiver
from tests.webhooks.payloads import PUSH_EVENT, encode, push_payload, signed_headers

TOKEN = "berth-test-status-token-0123456789abcdef"
PUBLIC_URL = "https://berth.example.test"
REPO_URL = "https://git.example.test/team/app.git"
SHA = "c0ffee" + "1" * 34
API_ROOT = {"github": "", "gitlab": "/api/v4", "gitea": "/api/v1"}
DEADLINE = 30.0


@pytest.fixture
def receiver() -> Iterator[StatusReceiver]:
    with StatusReceiver(echo_credentials=True) as server:
        yield server


@pytest.fixture
async def sender(db: Database) -> AsyncIterator[StatusSender]:
    # A poll longer than any test's deadline: statuses go because lifecycle commits wake the
    # sender and because it waits exactly until a retry falls due, not because it polls.
    settings = replace(
        get_settings(), public_url=PUBLIC_URL, status_poll_seconds=600.0, status_timeout_seconds=2.0,
        status_retry_base_seconds=0.05, status_retry_max_seconds=0.2, status_max_attempts=3,
    )
    running = StatusSender(settings)
    await running.start()
    yield running
    await running.stop()


async def make_hook(provider: str, receiver: StatusReceiver | None, token: str | None = TOKEN) -> GitHook:
    server = await make_server()
    project = await create_project(owner(), ProjectSpec(name=unique("shop")))
    service = await create_service(owner(), ServiceSpec(
        project_id=project.id, environment="production", name=unique("web"), server_id=server.id,
        source=SourceSpec(type=SourceType.DOCKERFILE, repository=REPO_URL, branch="main"),
    ))
    hook, _ = await create_git_hook(owner(), GitHookSpec(
        service_id=service.id, provider=GitProvider(provider.upper()), repository="team/app", branch="main",
        status_api_url=(receiver.url + API_ROOT[provider]) if receiver is not None and token else None,
        status_token=token,
    ))
    return hook


async def push(hook: GitHook, sha: str = SHA) -> Deployment:
    """A signed push through the webhook code, as the endpoint hands it over."""
    provider = hook.provider.value.lower()
    secret = hook_secret(hook)
    body = encode(push_payload(provider, hook.repository, "refs/heads/main", sha))
    headers = {k.lower(): v for k, v in signed_headers(provider, secret, body, PUSH_EVENT[provider]).items()}
    result = await receive(hook, Request(hook.provider, headers, body, "application/json"))
    assert result.deployment_id is not None, result.delivery.reason
    return await Deployment.get(id=result.deployment_id)


async def fail(deployment_id: int) -> None:
    await apply_change(deployment_id, from_status=DeploymentStatus.QUEUED, to_status=DeploymentStatus.PREPARE)
    await apply_change(
        deployment_id, from_status=DeploymentStatus.PREPARE, to_status=DeploymentStatus.FAILED,
        conclusion=DeploymentConclusion.FAILED,
        error={"step": "CLONE", "code": ErrorCode.CLONE_FAILED.value, "message": "no such commit"},
        steps=[StepChange(kind, StepStatus.SKIPPED) for kind in StepKind],
    )


async def rows_of(deployment: Deployment) -> list[CommitStatus]:
    return list(await CommitStatus.filter(deployment_id=deployment.id).order_by("id"))


async def settled(deployment: Deployment, count: int) -> list[CommitStatus]:
    async def check() -> list[CommitStatus] | None:
        rows = await rows_of(deployment)
        done = [r for r in rows if r.sent_at is not None or r.abandoned_at is not None]
        return rows if len(rows) == count and len(done) == count else None

    return await poll(check, DEADLINE, f"{count} settled commit statuses")


def label_of(deployment: Deployment, project: str, service: str) -> str:
    return f"{project}/production/{service} #{deployment.number}"


async def names(deployment: Deployment) -> tuple[str, str]:
    await deployment.fetch_related("project", "service")
    return deployment.project.name, deployment.service.name


@pytest.mark.parametrize("provider", ["github", "gitlab", "gitea"])
async def test_each_provider_gets_pending_then_success(
    db: Database, receiver: StatusReceiver, sender: StatusSender, provider: str,
) -> None:
    hook = await make_hook(provider, receiver)
    deployment = await push(hook)
    [pending_request] = await receiver.received(1)
    await succeed(deployment.id)
    first, second = await receiver.received(2)
    assert first == pending_request and len(receiver.snapshot()) == 2
    project, service = await names(deployment)
    label = label_of(deployment, project, service)
    link = f"{PUBLIC_URL}/api/v1/deployments/{deployment.id}/artifact"
    context = f"berth/production/{service}"
    for request in (first, second):
        assert request.method == "POST"
        assert request.header("content-type") == "application/json"
    if provider == "gitlab":
        assert first.path == f"/api/v4/projects/team%2Fapp/statuses/{SHA}"
        assert first.header("private-token") == TOKEN and first.header("authorization") is None
        assert first.body == {"state": "pending", "name": context, "target_url": link,
                              "description": f"{label} queued"}
        assert second.body["state"] == "success" and second.body["description"] == f"{label} deployed"
    else:
        root = API_ROOT[provider]
        assert first.path == f"{root}/repos/team/app/statuses/{SHA}"
        if provider == "github":
            assert first.header("authorization") == f"Bearer {TOKEN}"
            assert first.header("accept") == "application/vnd.github+json"
        else:
            assert first.header("authorization") == f"token {TOKEN}"
        assert first.body == {"state": "pending", "context": context, "target_url": link,
                              "description": f"{label} queued"}
        assert second.body == {"state": "success", "context": context, "target_url": link,
                               "description": f"{label} deployed"}
    assert second.path == first.path
    rows = await settled(deployment, 2)
    assert [r.state for r in rows] == [CommitState.PENDING, CommitState.SUCCESS]
    assert all(r.attempts == 1 and r.sent_at is not None and r.last_error is None for r in rows)


async def test_a_failed_deployment_reports_failure_and_a_canceled_one_error(
    db: Database, receiver: StatusReceiver, sender: StatusSender,
) -> None:
    hook = await make_hook("github", receiver)
    failed = await push(hook)
    await fail(failed.id)
    await settled(failed, 2)
    canceled = await push(hook, "d" * 40)
    await conclude_from_queue(canceled.id, DeploymentConclusion.CANCELED, cancel_reason="not now")
    await settled(canceled, 2)
    by_sha: dict[str, list[Received]] = {}
    for request in receiver.snapshot():
        by_sha.setdefault(request.path.rsplit("/", 1)[1], []).append(request)
    assert [r.body["state"] for r in by_sha[SHA]] == ["pending", "failure"]
    assert by_sha[SHA][1].body["description"].endswith("failed (CLONE_FAILED)")
    assert [r.body["state"] for r in by_sha["d" * 40]] == ["pending", "error"]
    assert by_sha["d" * 40][1].body["description"].endswith("canceled")


async def test_a_superseded_deployment_reports_error(
    db: Database, receiver: StatusReceiver, sender: StatusSender,
) -> None:
    hook = await make_hook("github", receiver)
    older = await push(hook, "a" * 40)
    newer = await push(hook, "b" * 40)  # supersedes the older one, still QUEUED
    assert (await Deployment.get(id=older.id)).conclusion == DeploymentConclusion.SKIPPED
    rows = await settled(older, 2)
    assert [r.state for r in rows] == [CommitState.PENDING, CommitState.ERROR]
    assert rows[1].description.endswith("skipped (a newer deployment superseded it)")
    [pending] = await settled(newer, 1)
    assert pending.state == CommitState.PENDING


async def test_a_provider_failing_twice_gets_the_status_on_the_third_attempt(
    db: Database, receiver: StatusReceiver, sender: StatusSender,
) -> None:
    hook = await make_hook("gitea", receiver)
    receiver.script(500, 503)
    deployment = await push(hook)
    await succeed(deployment.id)
    rows = await settled(deployment, 2)
    states = [r.body["state"] for r in receiver.snapshot()]
    # The success waited for its pending: never sent before it, though it was due at once.
    assert states == ["pending", "pending", "pending", "success"]
    assert [r.attempts for r in rows] == [3, 1]
    assert all(r.sent_at is not None and r.abandoned_at is None and r.last_error is None for r in rows)


async def test_a_provider_that_keeps_failing_gets_the_status_abandoned(
    db: Database, receiver: StatusReceiver, sender: StatusSender, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    hook = await make_hook("github", receiver)
    receiver.answer_always(500)
    deployment = await push(hook)
    await succeed(deployment.id)
    rows = await settled(deployment, 2)
    assert [r.state for r in rows] == [CommitState.PENDING, CommitState.SUCCESS]
    for row in rows:
        assert row.abandoned_at is not None and row.sent_at is None and row.attempts == 3
        assert row.last_error is not None and "attempt 3: HTTP 500" in row.last_error
        assert "stand-in failure" in row.last_error and TOKEN not in row.last_error
    # Three tries of the pending before the success was allowed to go.
    assert [r.body["state"] for r in receiver.snapshot()] == ["pending"] * 3 + ["success"] * 3
    assert "HTTP 500" in caplog.text and TOKEN not in caplog.text


async def test_a_refused_request_is_abandoned_at_once(
    db: Database, receiver: StatusReceiver, sender: StatusSender,
) -> None:
    hook = await make_hook("gitlab", receiver)
    receiver.script(401)
    deployment = await push(hook)
    [pending] = await settled(deployment, 1)
    assert pending.attempts == 1 and pending.abandoned_at is not None
    assert pending.last_error is not None and pending.last_error.startswith("attempt 1: HTTP 401")
    assert TOKEN not in pending.last_error


async def test_an_unreachable_or_slow_provider_is_retried_then_abandoned(
    db: Database, receiver: StatusReceiver, sender: StatusSender,
) -> None:
    # Nothing listens on this port: every attempt is refused at connect.
    with StatusReceiver() as closed:
        gone = closed.url
    hook = await make_hook("github", receiver)
    await GitHook.filter(id=hook.id).update(status_api_url=gone)
    deployment = await push(hook)
    [row] = await settled(deployment, 1)
    assert row.attempts == 3 and row.abandoned_at is not None
    assert row.last_error is not None and "attempt 3: ConnectError" in row.last_error

    # A provider slower than the timeout (2 s here): the attempt is cut off and retried.
    slow = await make_hook("gitea", receiver)
    receiver.hold(30)
    started = time.monotonic()
    waiting = await push(slow, "5" * 40)
    rows = await settled(waiting, 1)
    assert rows[0].sent_at is not None and rows[0].attempts == 2
    assert time.monotonic() - started < 15, "the sender waited for the slow provider beyond its timeout"


async def test_hooks_without_a_token_report_nothing(db: Database, receiver: StatusReceiver) -> None:
    hook = await make_hook("github", None, token=None)
    assert hook.status_token_enc is None and hook.status_api_url is None
    deployment = await push(hook)
    await succeed(deployment.id)
    assert await rows_of(deployment) == []
    lone = StatusSender(replace(get_settings(), public_url=PUBLIC_URL))
    await lone.start()
    try:
        assert await lone.run_once() is False
    finally:
        await lone.stop()
    assert receiver.snapshot() == []


async def test_the_outbox_row_commits_and_rolls_back_with_the_deployment(
    db: Database, receiver: StatusReceiver,
) -> None:
    hook = await make_hook("github", receiver)
    before = (await Deployment.all().count(), await CommitStatus.all().count())

    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with in_transaction():
            deployment = await push(hook)
            assert len(await rows_of(deployment)) == 1  # written, inside the transaction
            raise Abort
    assert (await Deployment.all().count(), await CommitStatus.all().count()) == before
    kept = await push(hook)
    [row] = await rows_of(kept)
    assert (row.state, row.commit_sha, row.hook_id) == (CommitState.PENDING, SHA, hook.id)
    # A refused conclusion (a move the rules forbid) writes no status either.
    with pytest.raises(Exception, match="cannot move"):
        await apply_change(kept.id, from_status=DeploymentStatus.QUEUED, to_status=DeploymentStatus.FINALIZE)
    assert len(await rows_of(kept)) == 1


async def test_two_senders_send_each_status_once(db: Database, receiver: StatusReceiver) -> None:
    hook = await make_hook("github", receiver)
    deployments: list[Deployment] = []
    for index in range(1, 6):
        # Each concludes before the next push: a newer push would supersede a queued one.
        deployments.append(await push(hook, f"{index:040x}"))
        await succeed(deployments[-1].id)
    settings = replace(get_settings(), public_url=PUBLIC_URL, status_poll_seconds=0.05)
    senders = [StatusSender(settings), StatusSender(settings)]
    for one in senders:
        await one.start()
    try:
        for deployment in deployments:
            await settled(deployment, 2)
    finally:
        for one in senders:
            await one.stop()
    received = receiver.snapshot()
    assert len(received) == 10
    for deployment in deployments:
        sha = deployment.input["commitSha"]
        assert [r.body["state"] for r in received if r.path.endswith(sha)] == ["pending", "success"]


async def test_the_token_is_stored_encrypted_only(
    db: Database, receiver: StatusReceiver, sender: StatusSender, tmp_path: Path,
) -> None:
    hook = await make_hook("gitea", receiver)
    receiver.script(500)
    deployment = await push(hook)
    await succeed(deployment.id)
    rows = await settled(deployment, 2)
    assert rows[0].attempts == 2 and rows[0].last_error is None  # the echoing failure was recorded, then cleared
    conn = connections.get("default")
    dumped: list[Any] = []
    for table in ("git_hook", "commit_status", "webhook_delivery", "deployment", "deployment_event"):
        dumped.extend(await conn.execute_query_dict(f"SELECT * FROM {table}"))
    assert TOKEN not in repr(dumped)
    assert hook.status_token_enc and TOKEN not in hook.status_token_enc
    if db.dialect == "sqlite":
        path = Path(db.url.removeprefix("sqlite://"))
        stored = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert TOKEN.encode() not in stored


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_invalid_status_settings_name_the_field_and_store_nothing(db: Database) -> None:
    cases: list[tuple[str, dict[str, Any], str, str]] = [
        ("gitlab", {"status_token": TOKEN}, "statusApiUrl", "needed for GITLAB"),
        ("gitea", {"status_token": TOKEN}, "statusApiUrl", "needed for GITEA"),
        ("github", {"status_api_url": "https://api.github.com"}, "statusToken", "needed with statusApiUrl"),
        ("github", {"status_api_url": "https://user:pw@api.example.test", "status_token": TOKEN},
         "statusApiUrl", "must not carry credentials"),
        ("github", {"status_api_url": "https://api.example.test/?access_token=x", "status_token": TOKEN},
         "statusApiUrl", "query"),
        ("github", {"status_api_url": "ftp://api.example.test", "status_token": TOKEN},
         "statusApiUrl", "absolute http"),
        ("github", {"status_api_url": "/api/v3", "status_token": TOKEN}, "statusApiUrl", "absolute http"),
        ("github", {"status_token": "two words"}, "statusToken", "printable ASCII"),
        ("github", {"status_token": ""}, "statusToken", "must not be empty"),
    ]
    hook = await make_hook("github", None, token=None)
    before = await GitHook.all().count()
    for provider, fields, field, words in cases:
        with pytest.raises(InvalidInput) as refused:
            await create_git_hook(owner(), GitHookSpec(
                service_id=hook.service_id, provider=GitProvider(provider.upper()), repository="team/app",
                **fields))
        [error] = refused.value.errors
        assert error.field == ["input", field] and words in error.message, (fields, error.message)
        assert "two words" not in error.message and TOKEN not in error.message
    assert await GitHook.all().count() == before
    # A token alone on GitHub uses the public API.
    github, _ = await create_git_hook(owner(), GitHookSpec(
        service_id=hook.service_id, provider=GitProvider.GITHUB, repository="team/app", status_token=TOKEN))
    assert github.status_api_url == "https://api.github.com" and github.status_token_enc
    assert TOKEN not in repr(GitHookSpec(service_id=1, provider=GitProvider.GITHUB, repository="a/b",
                                         status_token=TOKEN))


def test_backoff_doubles_up_to_its_cap_and_honours_retry_after() -> None:
    assert [retry_delay(n, 5, 60) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]
    assert retry_delay(1, 5, 60, retry_after=30) == 30
    assert retry_delay(1, 5, 60, retry_after=3600) == 60
