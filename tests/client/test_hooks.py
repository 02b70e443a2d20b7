"""`berth hooks create | (list) | deliveries` against a real server."""

from __future__ import annotations

import re

import httpx

from tests.client.support import Cli
from tests.webhooks.payloads import encode, push_payload, signed_headers


def test_create_list_and_deliveries(queue_cli: Cli) -> None:
    queue_cli.ok("deploy", "--image", "nginx:alpine", "--project", "hooks", "--detach")
    created = queue_cli.ok("hooks", "create", "--service", "nginx", "--provider", "github", "--repo", "org/app",
                           "--branch", "main")
    url = re.search(r"^URL:\s+(\S+)$", created.stdout, re.M)
    secret = re.search(r"^secret: (\S+)$", created.stdout, re.M)
    assert url and secret, created.stdout
    assert "will not be shown again" in created.stdout
    assert url.group(1).startswith(f"{queue_cli.url}/hooks/github/")

    listed = queue_cli.ok("hooks")
    assert "hooks/production/nginx" in listed.stdout and "org/app" in listed.stdout
    assert secret.group(1) not in listed.stdout
    [hook] = queue_cli.json("hooks", "--json")

    for ref in ("refs/heads/feature/x", "refs/heads/main"):
        body = encode(push_payload("github", "org/app", ref, "1" * 40))
        response = httpx.post(url.group(1), content=body, headers=signed_headers("github", secret.group(1), body,
                                                                                  "push"))
        assert response.status_code == 202, response.text
    deliveries = queue_cli.ok("hooks", "deliveries", hook["id"]).stdout.splitlines()
    assert "OUTCOME" in deliveries[0] and "REASON" in deliveries[0]
    # Newest first: the push to main (an IMAGE service deploys nothing from git), then the other branch.
    assert "SKIPPED" in deliveries[1] and "deploys an image" in deliveries[1]
    assert "branch feature/x is not main" in deliveries[2]

    refused = queue_cli.run("hooks", "create", "--service", "nginx", "--provider", "github", "--repo", "bad")
    assert refused.code != 0 and "--repo" in refused.stderr


def test_create_with_commit_statuses_reads_the_token_from_the_environment(queue_cli: Cli) -> None:
    token = "glpat-berth-cli-test-token-4242"
    queue_cli.ok("deploy", "--image", "nginx:alpine", "--project", "hookstatus", "--detach")
    queue_cli.extra_env["STATUS_TOKEN"] = token
    created = queue_cli.ok("hooks", "create", "--service", "nginx", "--project", "hookstatus", "--provider",
                           "gitlab", "--repo", "group/app", "--branch", "main", "--status-api-url",
                           "https://gitlab.example.test/api/v4", "--status-token-env", "STATUS_TOKEN")
    assert "commit statuses: reported through https://gitlab.example.test/api/v4" in created.stdout
    assert token not in created.stdout + created.stderr
    listed = queue_cli.json("hooks", "--json")
    [hook] = [h for h in listed if h["repository"] == "group/app"]
    assert hook["reportsStatuses"] is True and hook["statusApiUrl"] == "https://gitlab.example.test/api/v4"
    assert token not in repr(listed)

    unset = queue_cli.run("hooks", "create", "--service", "nginx", "--project", "hookstatus", "--provider",
                          "github", "--repo", "group/app", "--status-token-env", "NO_SUCH_VARIABLE_SET")
    assert unset.code != 0 and "NO_SUCH_VARIABLE_SET is not set" in unset.stderr
    alone = queue_cli.run("hooks", "create", "--service", "nginx", "--project", "hookstatus", "--provider",
                          "github", "--repo", "group/app", "--status-api-url", "https://api.github.com")
    assert alone.code != 0 and "--status-token-env" in alone.stderr
    missing = queue_cli.run("hooks", "create", "--service", "nginx", "--project", "hookstatus", "--provider",
                            "gitea", "--repo", "group/app", "--status-token-env", "STATUS_TOKEN")
    assert missing.code != 0 and "--status-api-url" in missing.stderr and token not in missing.stderr
