"""Push to deploy against the running server: signed deliveries from each provider, every
refusal (and that it stores nothing but a REJECTED row without payload), SKIPPED reasons,
dedupe (sequential and concurrent), the ledger, redelivery, scopes and visibility.

The runner is kept off the servers (see tests/api/conftest.py): deployments stay QUEUED.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from typing import Any

import httpx
import pytest
from tortoise import connections

from berth.models import Deployment as DeploymentRow
from berth.models.git import WebhookDelivery as DeliveryRow
from tests.api.conftest import Api, pk
from tests.support.names import unique
from tests.webhooks.payloads import (
    PR_EVENT,
    PUSH_EVENT,
    ZERO,
    encode,
    pull_request_payload,
    push_payload,
    signed_headers,
)

REPO_URL = "https://git.example.test/team/app.git"
PROVIDERS = ("github", "gitlab", "gitea")
SHA1 = "1" * 40
SHA2 = "2" * 40
HOOK_FIELDS = "id provider repository branch previews allowForkPreviews url createdAt service { id }"


async def make_hook(api: Api, provider: str = "github", branch: str | None = "main",
                    source: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    service = await api.create_service(
        source=source or {"type": "DOCKERFILE", "repository": REPO_URL, "branch": "main"})
    repository = unique("org") + "/app"
    payload = await api.ok(
        "createGitHook",
        {"serviceId": service["id"], "provider": provider.upper(), "repository": repository, "branch": branch,
         **fields},
        f"gitHook {{ {HOOK_FIELDS} }} secret",
    )
    return {**payload["gitHook"], "secret": payload["secret"], "service": service}


def send(api: Api, hook: dict[str, Any], body: bytes, headers: dict[str, str]) -> httpx.Response:
    return api.http.post(hook["url"], content=body, headers=headers)


def push(api: Api, hook: dict[str, Any], ref: str = "refs/heads/main", after: str = SHA1,
         delivery: str | None = None, **changes: Any) -> httpx.Response:
    provider = hook["provider"].lower()
    body = encode(push_payload(provider, changes.pop("repository", hook["repository"]), ref, after))
    headers = signed_headers(provider, hook["secret"], body, PUSH_EVENT[provider], delivery)
    headers.update(changes.pop("headers", {}))
    return send(api, hook, changes.pop("body", body), headers)


async def ledger(api: Api, hook: dict[str, Any], first: int = 100, after: str | None = None) -> dict[str, Any]:
    data = await api.query(
        """query L($id: ID!, $first: Int, $after: String) { node(id: $id) { ... on GitHook {
             deliveries(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor }
               edges { cursor node { id deliveryId event outcome reason commitSha receivedAt
                                     deployment { id number trigger } } } } } } }""",
        {"id": hook["id"], "first": first, "after": after},
    )
    result: dict[str, Any] = data["node"]["deliveries"]
    return result


async def rows_of(hook: dict[str, Any]) -> list[DeliveryRow]:
    return list(await DeliveryRow.filter(hook_id=pk(hook["id"])).order_by("id"))


async def deployments_of(hook: dict[str, Any]) -> int:
    return await DeploymentRow.filter(service_id=pk(hook["service"]["id"])).count()


# ---------------------------------------------------------------- creating hooks

async def test_create_returns_the_url_and_the_secret_once(api: Api) -> None:
    hook = await make_hook(api, "gitlab", previews=True)
    assert hook["url"] == f"{api.server.url}/hooks/gitlab/{pk(hook['id'])}"
    assert len(hook["secret"]) >= 40 and hook["previews"] is True and hook["allowForkPreviews"] is False
    listed = await api.query("query S($id: ID!) { node(id: $id) { ... on Service { gitHooks { id url } } } }",
                             {"id": hook["service"]["id"]})
    assert listed["node"]["gitHooks"] == [{"id": hook["id"], "url": hook["url"]}]
    # Stored encrypted: the plaintext is in no row of the database.
    assert hook["secret"].encode() not in api.dump()
    # Never shown again: not by the hook's fields nor its ledger.
    assert hook["secret"] not in api.transcript[-1]


async def test_create_refuses_a_bad_repository_or_branch_and_stores_nothing(api: Api) -> None:
    service = await api.create_service(source={"type": "DOCKERFILE", "repository": REPO_URL, "branch": "main"})
    for field, value in (("repository", "no-slash"), ("repository", "a/../b"), ("branch", "bad..branch")):
        values = {"serviceId": service["id"], "provider": "GITHUB", "repository": "org/app", field: value}
        payload = await api.mutate("createGitHook", values, "gitHook { id } secret")
        assert payload["gitHook"] is None and payload["secret"] is None
        assert payload["errors"][0]["field"] == ["input", field], payload
    data = await api.query("query S($id: ID!) { node(id: $id) { ... on Service { gitHooks { id } } } }",
                           {"id": service["id"]})
    assert data["node"]["gitHooks"] == []


async def test_scopes_and_project_visibility(api: Api) -> None:
    hook = await make_hook(api)
    body = api.post("mutation C($i: CreateGitHookInput!) { createGitHook(input: $i) { gitHook { id } } }",
                    {"i": {"serviceId": hook["service"]["id"], "provider": "GITHUB", "repository": "org/app"}},
                    token=await api.token("viewer"))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = api.post("mutation D($id: ID!) { deleteGitHook(id: $id) { gitHook { id } } }", {"id": hook["id"]},
                    token=await api.token("viewer"))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    other = await api.create_project()
    limited = await api.token("owner", project_ids=[pk(other["id"])])
    seen = await api.query("query N($id: ID!) { node(id: $id) { id } }", {"id": hook["id"]}, token=limited)
    assert seen["node"] is None
    body = api.post("mutation D($id: ID!) { deleteGitHook(id: $id) { gitHook { id } errors { code } } }",
                    {"id": hook["id"]}, token=limited)
    assert body["data"]["deleteGitHook"]["errors"] == [{"code": "NOT_FOUND"}]
    assert await DeliveryRow.filter(hook_id=pk(hook["id"])).count() == 0


# ---------------------------------------------------------------- signed pushes

@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_signed_push_deploys_exactly_the_pushed_commit(api: Api, provider: str) -> None:
    hook = await make_hook(api, provider)
    response = push(api, hook, after=SHA1)
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["outcome"] == "DEPLOYED" and answer["deployment"] is not None
    deployment = await api.deployment(answer["deployment"])
    assert deployment["trigger"] == "WEBHOOK"
    assert deployment["input"]["commitSha"] == SHA1 and deployment["frozenInput"]["commitSha"] == SHA1
    assert deployment["input"]["ref"] == "main"
    assert deployment["actor"] == {"subject": f"githook:{pk(hook['id'])}", "email": "alice@example.test",
                                   "role": None, "tokenKind": "WEBHOOK", "tokenName": "alice"}
    stored = await DeploymentRow.get(id=pk(answer["deployment"]))
    assert stored.actor["verified"] is False
    [row] = (await ledger(api, hook))["edges"]
    assert row["node"]["id"] == answer["delivery"] and row["node"]["outcome"] == "DEPLOYED"
    assert row["node"]["commitSha"] == SHA1 and row["node"]["deployment"]["id"] == answer["deployment"]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_bad_or_missing_signature_is_rejected_without_payload(api: Api, provider: str) -> None:
    hook = await make_hook(api, provider)
    wrong = {"github": {"X-Hub-Signature-256": "sha256=" + "0" * 64},
             "gitea": {"X-Gitea-Signature": "0" * 64},
             "gitlab": {"X-Gitlab-Token": "not-the-secret"}}[provider]
    assert push(api, hook, headers=wrong).status_code == 401
    body = encode(push_payload(provider, hook["repository"], "refs/heads/main", SHA1))
    headers = signed_headers(provider, hook["secret"], body, PUSH_EVENT[provider])
    unsigned = {k: v for k, v in headers.items() if k not in wrong}
    response = send(api, hook, body, unsigned)
    assert response.status_code == 401 and response.json()["outcome"] == "REJECTED"
    # Signed for another body: the signature is over the raw bytes.
    tampered = body.replace(SHA1.encode(), SHA2.encode())
    expected_status = 202 if provider == "gitlab" else 401  # GitLab sends a token, it does not sign
    assert send(api, hook, tampered, headers).status_code == expected_status
    rows = await rows_of(hook)
    rejected = [r for r in rows if r.outcome == "REJECTED"]
    assert len(rejected) == (2 if provider == "gitlab" else 3)
    assert all(r.payload is None and r.dedupe_key is None for r in rejected)
    assert {r.reason for r in rejected} >= {"signature does not match" if provider != "gitlab"
                                            else "token does not match"}
    assert any("header is missing" in (r.reason or "") for r in rejected)
    assert await deployments_of(hook) == (1 if provider == "gitlab" else 0)
    assert hook["secret"] not in "".join(str(r.reason) for r in rows)


async def test_refusals_store_only_a_rejected_row(api: Api) -> None:
    hook = await make_hook(api, "github")
    secret = hook["secret"]
    form = b"payload=%7B%7D"
    cases: list[tuple[int, bytes, dict[str, str], str]] = [
        (415, form, signed_headers("github", secret, form, "push",
                                   content_type="application/x-www-form-urlencoded"), "application/json"),
        (415, b"{}", signed_headers("github", secret, b"{}", "push", content_type="text/plain"), "application/json"),
        (400, b"{not json", signed_headers("github", secret, b"{not json", "push"), "not valid JSON"),
        (400, b"[]", signed_headers("github", secret, b"[]", "push"), "not a JSON object"),
    ]
    other = encode(push_payload("github", "someone/else", "refs/heads/main", SHA1))
    cases.append((422, other, signed_headers("github", secret, other, "push"), "is not this hook's"))
    no_event = {k: v for k, v in signed_headers("github", secret, b"{}", "push").items() if k != "X-GitHub-Event"}
    cases.append((400, b"{}", no_event, "X-GitHub-Event header is missing"))
    for status, body, headers, words in cases:
        response = send(api, hook, body, headers)
        assert response.status_code == status, (words, response.text)
        answer = response.json()
        assert answer["outcome"] == "REJECTED" and answer["deployment"] is None and words in answer["reason"]
    rows = await rows_of(hook)
    assert len(rows) == len(cases)
    assert all(r.outcome == "REJECTED" and r.payload is None and r.deployment_id is None for r in rows)
    assert await deployments_of(hook) == 0


async def test_a_body_over_5_mib_is_413_and_not_stored(api: Api) -> None:
    hook = await make_hook(api, "gitea")
    big = b'{"pad": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    response = send(api, hook, big, signed_headers("gitea", hook["secret"], big, "push"))
    assert response.status_code == 413
    [row] = await rows_of(hook)
    assert row.outcome == "REJECTED" and row.payload is None and "5 MiB" in (row.reason or "")


async def test_unknown_hook_or_another_provider_is_404_and_stores_nothing(api: Api) -> None:
    hook = await make_hook(api, "github")
    conn = connections.get("default")
    before = (await conn.execute_query_dict("SELECT COUNT(*) AS n FROM webhook_delivery"))[0]["n"]
    body = encode(push_payload("github", hook["repository"], "refs/heads/main", SHA1))
    headers = signed_headers("github", hook["secret"], body, "push")
    number = pk(hook["id"])
    for path in (f"/hooks/gitlab/{number}", f"/hooks/github/{number + 10_000}", "/hooks/github/abc",
                 f"/hooks/bitbucket/{number}", "/hooks/github/" + "9" * 30):
        response = api.http.post(api.server.url + path, content=body, headers=headers)
        assert response.status_code == 404, path
    after = (await conn.execute_query_dict("SELECT COUNT(*) AS n FROM webhook_delivery"))[0]["n"]
    assert after == before
    assert await deployments_of(hook) == 0


# ---------------------------------------------------------------- what deploys nothing

async def test_skipped_reasons(api: Api) -> None:
    hook = await make_hook(api, "github", branch="main")
    expectations = [
        (push(api, hook, ref="refs/heads/feature/x"), "branch feature/x is not main"),
        (push(api, hook, ref="refs/tags/v1"), "tag v1 was pushed: tags deploy nothing"),
        (push(api, hook, after=ZERO), "branch main was deleted"),
    ]
    pr = encode(pull_request_payload("github", hook["repository"]))
    expectations.append((send(api, hook, pr, signed_headers("github", hook["secret"], pr, PR_EVENT["github"])),
                         "previews are off for this hook"))
    issue = encode({"action": "opened", "repository": {"full_name": hook["repository"]}})
    expectations.append((send(api, hook, issue, signed_headers("github", hook["secret"], issue, "issues")),
                         "issues events deploy nothing"))
    for response, reason in expectations:
        assert response.status_code == 202, response.text
        assert response.json() | {"delivery": None} == {"delivery": None, "outcome": "SKIPPED",
                                                        "reason": reason, "deployment": None}
    ping = encode({"zen": "Keep it simple.", "hook_id": 1, "repository": {"full_name": hook["repository"]}})
    response = send(api, hook, ping, signed_headers("github", hook["secret"], ping, "ping"))
    assert response.status_code == 200 and response.json()["outcome"] == "SKIPPED"
    assert await deployments_of(hook) == 0
    reasons = [edge["node"]["reason"] for edge in (await ledger(api, hook))["edges"]]
    assert reasons[0] == "ping: the hook is connected" and reasons[-1] == "branch feature/x is not main"


async def test_image_services_and_hooks_without_a_branch_deploy_nothing(api: Api) -> None:
    image = await make_hook(api, "gitlab", source={"type": "IMAGE", "image": "registry.example.test/a/b:v1"})
    response = push(api, image)
    assert response.json()["outcome"] == "SKIPPED" and "deploys an image" in response.json()["reason"]
    branchless = await make_hook(api, "gitea", branch=None)
    response = push(api, branchless)
    assert response.json()["reason"] == "this hook deploys no branch (its branch is not set)"
    assert await deployments_of(image) == 0 and await deployments_of(branchless) == 0


# ---------------------------------------------------------------- dedupe

async def test_the_same_delivery_twice_is_a_duplicate(api: Api) -> None:
    hook = await make_hook(api, "github")
    first = push(api, hook, delivery="d-1")
    second = push(api, hook, delivery="d-1")
    assert first.json()["outcome"] == "DEPLOYED"
    assert second.status_code == 202 and second.json()["outcome"] == "DUPLICATE"
    assert second.json()["deployment"] is None and second.json()["reason"] == "delivery d-1 was received before"
    assert await deployments_of(hook) == 1
    # Another id is another delivery: it deploys (and supersedes the queued one).
    assert push(api, hook, delivery="d-2", after=SHA2).json()["outcome"] == "DEPLOYED"
    assert await deployments_of(hook) == 2


async def test_concurrent_identical_deliveries_start_one_deployment(api: Api) -> None:
    hook = await make_hook(api, "gitea")
    body = encode(push_payload("gitea", hook["repository"], "refs/heads/main", SHA1))
    headers = signed_headers("gitea", hook["secret"], body, "push", delivery="same-delivery")

    async def one(client: httpx.AsyncClient) -> dict[str, Any]:
        response = await client.post(hook["url"], content=body, headers=headers)
        assert response.status_code == 202, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async with httpx.AsyncClient(timeout=30) as client:
        answers = await asyncio.gather(*(one(client) for _ in range(8)))
    outcomes = sorted(a["outcome"] for a in answers)
    assert outcomes == ["DEPLOYED"] + ["DUPLICATE"] * 7, outcomes
    assert await deployments_of(hook) == 1
    assert len(await rows_of(hook)) == 8


# ---------------------------------------------------------------- the ledger and redelivery

async def test_the_ledger_is_newest_first_and_pages(api: Api) -> None:
    hook = await make_hook(api, "github")
    sent = [push(api, hook, ref=f"refs/heads/b{i}").json()["delivery"] for i in range(5)]
    page = await ledger(api, hook, first=2)
    assert page["totalCount"] == 5 and page["pageInfo"]["hasNextPage"] is True
    seen = [edge["node"]["id"] for edge in page["edges"]]
    while page["pageInfo"]["hasNextPage"]:
        page = await ledger(api, hook, first=2, after=page["pageInfo"]["endCursor"])
        seen += [edge["node"]["id"] for edge in page["edges"]]
    assert seen == list(reversed(sent))
    body = api.post("query L($id: ID!) { node(id: $id) { ... on GitHook { deliveries(after: \"nope\") "
                    "{ totalCount } } } }", {"id": hook["id"]}, token=await api.token())
    assert "after is not a cursor" in body["errors"][0]["message"]


async def test_redelivery_processes_the_stored_payload_again(api: Api) -> None:
    hook = await make_hook(api, "gitlab")
    first = push(api, hook, delivery="r-1").json()
    selection = "delivery { id outcome reason commitSha deliveryId deployment { id trigger input { commitSha } } }"
    data = await api.query(
        f"mutation R($id: ID!) {{ redeliverWebhook(id: $id) {{ {selection} errors {{ code message field }} }} }}",
        {"id": first["delivery"]}, role="developer",
    )
    payload = data["redeliverWebhook"]
    assert payload["errors"] == []
    delivery = payload["delivery"]
    # Dedupe does not apply to a redelivery: it deploys the same commit again.
    assert delivery["outcome"] == "DEPLOYED" and delivery["deliveryId"] == "r-1"
    assert delivery["deployment"]["id"] != first["deployment"]
    assert delivery["deployment"]["trigger"] == "WEBHOOK" and delivery["deployment"]["input"]["commitSha"] == SHA1
    row = await DeliveryRow.get(id=pk(delivery["id"]))
    assert row.redelivery_of_id == pk(first["delivery"]) and row.dedupe_key is None
    assert await deployments_of(hook) == 2
    # A refused delivery has no payload to process again.
    rejected = push(api, hook, headers={"X-Gitlab-Token": "wrong"}).json()
    data = await api.query("mutation R($id: ID!) { redeliverWebhook(id: $id) { delivery { id } "
                           "errors { code message field } } }", {"id": rejected["delivery"]})
    assert data["redeliverWebhook"]["errors"][0]["field"] == ["id"]
    # A viewer may read the ledger but not redeliver.
    body = api.post("mutation R($id: ID!) { redeliverWebhook(id: $id) { delivery { id } } }",
                    {"id": first["delivery"]}, token=await api.token("viewer"))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_delete_removes_the_hook_and_its_ledger(api: Api) -> None:
    hook = await make_hook(api, "github")
    deployment = push(api, hook).json()["deployment"]
    push(api, hook, ref="refs/heads/other")
    data = await api.query("mutation D($id: ID!) { deleteGitHook(id: $id) { gitHook { id } errors { code } } }",
                           {"id": hook["id"]})
    assert data["deleteGitHook"] == {"gitHook": {"id": hook["id"]}, "errors": []}
    assert await DeliveryRow.filter(hook_id=pk(hook["id"])).count() == 0
    assert push(api, hook).status_code == 404
    # The deployment it started stays, its actor naming the hook.
    assert (await api.deployment(deployment))["actor"]["subject"] == f"githook:{pk(hook['id'])}"


def test_payload_helper_signs_like_github() -> None:
    # The documented example: secret "It's a Secret to Everybody", body "Hello, World!".
    headers = signed_headers("github", "It's a Secret to Everybody", b"Hello, World!", "push")
    expected = hmac.new(b"It's a Secret to Everybody", b"Hello, World!", hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature-256"] == "sha256=" + expected
    assert expected == "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
