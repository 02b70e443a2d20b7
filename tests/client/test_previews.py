"""`berth previews [--service]` against a real server (its queue: nothing runs, the rows are
what the pull-request events made)."""

from __future__ import annotations

import re

import httpx

from tests.client.support import Cli
from tests.webhooks.payloads import PR_EVENT, encode, pull_request_payload, signed_headers


def send(url: str, secret: str, number: int, **payload: object) -> dict[str, object]:
    body = encode(pull_request_payload("github", "org/app", number, **payload))  # type: ignore[arg-type]
    response = httpx.post(url, content=body, headers=signed_headers("github", secret, body, PR_EVENT["github"]))
    assert response.status_code == 202, response.text
    answer: dict[str, object] = response.json()
    return answer


def test_previews_are_listed_per_service_with_their_state(queue_cli: Cli) -> None:
    queue_cli.ok("deploy", "--repo", "https://git.example.test/org/app.git", "--name", "site", "--project",
                 "prev", "--detach")
    queue_cli.ok("deploy", "--repo", "https://git.example.test/org/other.git", "--name", "docs", "--project",
                 "prev", "--detach")
    assert queue_cli.ok("previews").stdout.strip() == "no previews"
    created = queue_cli.ok("hooks", "create", "--service", "site", "--provider", "github", "--repo", "org/app",
                           "--previews")
    url = re.search(r"^URL:\s+(\S+)$", created.stdout, re.M)
    secret = re.search(r"^secret: (\S+)$", created.stdout, re.M)
    assert url and secret, created.stdout

    assert send(url.group(1), secret.group(1), 4, head_sha="4" * 40, title="Add search")["outcome"] == \
        "PREVIEW_DEPLOYED"
    assert send(url.group(1), secret.group(1), 5, head_sha="5" * 40, head_ref="feat/five")["outcome"] == \
        "PREVIEW_DEPLOYED"
    assert send(url.group(1), secret.group(1), 5, action="closed", head_sha="5" * 40)["outcome"] == \
        "PREVIEW_CLOSED"

    lines = queue_cli.ok("previews", "--service", "site").stdout.splitlines()
    assert "PR" in lines[0] and "STATUS" in lines[0] and "ADDRESS" in lines[0]
    # Newest pull request first.
    assert "#5" in lines[1] and "CLOSED" in lines[1] and "feat/five → main" in lines[1]
    assert "#4" in lines[2] and "ACTIVE" in lines[2] and "4" * 12 in lines[2] and "Add search" in lines[2]
    listed = queue_cli.json("previews", "--json", "--status", "active")
    assert [(p["pullRequest"], p["service"]) for p in listed] == [(4, "prev/production/site")]
    assert queue_cli.ok("previews", "--service", "docs").stdout.strip() == "no previews"
