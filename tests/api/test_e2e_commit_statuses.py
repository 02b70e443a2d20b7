"""Commit statuses through the running server (SQLite and PostgreSQL): a hook created over
GraphQL with a status token, a signed push, and the server's own sender POSTing `pending`,
then `error` once the deployment is canceled, to a loopback server standing in for Gitea.
The token is never in a response, the server's log or the stored database.

The runner is kept off the servers (tests/api/conftest.py): deployments stay QUEUED until
the test cancels them, which concludes them through the same lifecycle rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from berth.models import GitHook as HookRow
from tests.api.conftest import Api, pk
from tests.support.names import unique
from tests.support.status_receiver import StatusReceiver
from tests.webhooks.payloads import PUSH_EVENT, encode, push_payload, signed_headers

TOKEN = "gitea-e2e-status-token-5f5f5f5f5f5f"
SHA = "e2e" + "4" * 37
REPO_URL = "https://git.example.test/team/app.git"
HOOK_FIELDS = "id provider repository reportsStatuses statusApiUrl url"


@pytest.fixture
def receiver() -> Iterator[StatusReceiver]:
    with StatusReceiver() as server:
        yield server


async def test_pending_then_error_reach_the_provider_and_the_token_stays_secret(
    api: Api, receiver: StatusReceiver,
) -> None:
    service = await api.create_service(source={"type": "DOCKERFILE", "repository": REPO_URL, "branch": "main"})
    repository = unique("team") + "/app"
    created = await api.ok(
        "createGitHook",
        {"serviceId": service["id"], "provider": "GITEA", "repository": repository, "branch": "main",
         "statusApiUrl": receiver.url + "/api/v1/", "statusToken": TOKEN},
        f"gitHook {{ {HOOK_FIELDS} }} secret",
    )
    hook = created["gitHook"]
    assert hook["reportsStatuses"] is True and hook["statusApiUrl"] == receiver.url + "/api/v1"
    listed = await api.query("query ($id: ID!) { node(id: $id) { ... on GitHook { reportsStatuses "
                             "statusApiUrl } } }", {"id": hook["id"]})
    assert listed["node"] == {"reportsStatuses": True, "statusApiUrl": receiver.url + "/api/v1"}

    body = encode(push_payload("gitea", repository, "refs/heads/main", SHA))
    response = api.http.post(hook["url"], content=body,
                             headers=signed_headers("gitea", created["secret"], body, PUSH_EVENT["gitea"]))
    assert response.status_code == 202, response.text
    gid = response.json()["deployment"]
    [pending] = await receiver.received(1)
    assert pending.path == f"/api/v1/repos/{repository}/statuses/{SHA}"
    assert pending.header("authorization") == f"token {TOKEN}"
    assert pending.body["state"] == "pending"
    assert pending.body["context"] == f"berth/production/{service['name']}"
    # The link is built on the server's public address (here derived from where it listens).
    assert pending.body["target_url"] == f"{api.server.url}/api/v1/deployments/{pk(gid)}/artifact"
    label = f"{service['project']['name']}/production/{service['name']} #1"
    assert pending.body["description"] == f"{label} queued"

    await api.ok("cancelDeployment", {"deploymentId": gid, "reason": "not this one"}, "deployment { id }")
    _, concluded = await receiver.received(2)
    assert concluded.body["state"] == "error" and concluded.body["description"] == f"{label} canceled"
    assert len(receiver.snapshot()) == 2

    assert TOKEN not in "".join(api.transcript)
    assert TOKEN not in api.server_log()
    assert TOKEN.encode() not in api.dump()


@pytest.mark.parametrize(("provider", "fields", "field"), [
    ("GITLAB", {"statusToken": TOKEN}, "statusApiUrl"),
    ("GITHUB", {"statusApiUrl": "https://token:x-oauth@api.github.com", "statusToken": TOKEN}, "statusApiUrl"),
    ("GITHUB", {"statusApiUrl": "https://api.github.com"}, "statusToken"),
])
async def test_refused_status_settings_name_the_field_and_store_nothing(
    api: Api, provider: str, fields: dict[str, Any], field: str,
) -> None:
    service = await api.create_service(source={"type": "DOCKERFILE", "repository": REPO_URL, "branch": "main"})
    before = await HookRow.all().count()
    payload = await api.mutate(
        "createGitHook",
        {"serviceId": service["id"], "provider": provider, "repository": "team/app", **fields},
        "gitHook { id } secret",
    )
    assert payload["gitHook"] is None and payload["secret"] is None
    [error] = payload["errors"]
    assert error["code"] == "INVALID_INPUT" and error["field"] == ["input", field], error
    assert await HookRow.all().count() == before
    assert TOKEN not in "".join(api.transcript)
