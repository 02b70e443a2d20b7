"""Every git hook delivery is a `githook.delivery` audit entry, written with its ledger row:
a push that deploys (OK, naming the deployment), a repeat (REFUSED), a bad signature (REFUSED,
no actor: the request never proved itself)."""

from __future__ import annotations

import uuid

from berth.domain.git_hooks import GitHookSpec, create_git_hook, hook_secret
from berth.domain.inventory import create_project, create_service
from berth.domain.specs import ProjectSpec, ServiceSpec, SourceSpec
from berth.domain.webhooks import Request, receive
from berth.models import AuditEvent, GitHook, WebhookDelivery
from berth.models.audit import AuditOutcome
from berth.models.enums import GitProvider, SourceType, WebhookOutcome
from tests.conftest import Database
from tests.runner.runner_support import make_server, owner
from tests.support.names import unique
from tests.webhooks.payloads import PUSH_EVENT, encode, push_payload, signed_headers

SHA = "c0ffee" + "2" * 34


async def make_hook() -> GitHook:
    server = await make_server()
    project = await create_project(owner(), ProjectSpec(name=unique("shop")))
    service = await create_service(owner(), ServiceSpec(
        project_id=project.id, environment="production", name=unique("web"), server_id=server.id,
        source=SourceSpec(type=SourceType.DOCKERFILE, repository="https://git.example.test/team/app.git",
                          branch="main"),
    ))
    hook, _ = await create_git_hook(owner(), GitHookSpec(
        service_id=service.id, provider=GitProvider.GITHUB, repository="team/app", branch="main"))
    return hook


def request(hook: GitHook, delivery: str, secret: str | None = None) -> Request:
    body = encode(push_payload("github", hook.repository, "refs/heads/main", SHA))
    headers = signed_headers("github", secret or hook_secret(hook), body, PUSH_EVENT["github"], delivery)
    return Request(hook.provider, {k.lower(): v for k, v in headers.items()}, body, "application/json",
                   remote_address="192.0.2.7")


async def test_each_delivery_is_an_entry_with_what_it_triggered(db: Database) -> None:
    hook = await make_hook()
    delivery = str(uuid.uuid4())
    deployed = await receive(hook, request(hook, delivery))
    repeated = await receive(hook, request(hook, delivery))
    forged = await receive(hook, request(hook, str(uuid.uuid4()), secret="not-the-secret"))
    assert (deployed.outcome, repeated.outcome, forged.outcome) == (
        WebhookOutcome.DEPLOYED, WebhookOutcome.DUPLICATE, WebhookOutcome.REJECTED)

    entries = await AuditEvent.filter(action="githook.delivery").order_by("id")
    assert [(e.outcome, e.target_pk) for e in entries] == [
        (AuditOutcome.OK, deployed.delivery.id), (AuditOutcome.REFUSED, repeated.delivery.id),
        (AuditOutcome.REFUSED, forged.delivery.id)]
    assert all(e.target_type == "WebhookDelivery" and e.remote_address == "192.0.2.7" for e in entries)
    project_id = (await hook.service).project_id  # type: ignore[attr-defined]
    assert all(e.project_id == project_id for e in entries)
    first = entries[0]
    assert first.details["outcome"] == "DEPLOYED" and first.details["deployment"].endswith(" #1")
    assert first.actor is not None and first.actor["tokenKind"] == "WEBHOOK"
    assert entries[2].actor is None and entries[2].details["outcome"] == "REJECTED"
    # One entry per ledger row, and none for a row still being processed.
    assert await WebhookDelivery.filter(hook_id=hook.id).count() == len(entries)
