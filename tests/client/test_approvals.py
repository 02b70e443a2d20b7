"""`berth approve`, `berth reject`, `berth deployments --pending-approval` and `berth deploy
--dry-run`, `berth environments [protect]` against `berth serve --no-runner` (deployments stay where the commands leave them)."""

from __future__ import annotations

from tests.client.conftest import Served
from tests.client.support import Cli


def protect(cli: Cli, environment: str, required: int) -> None:
    """requiredApprovals through `berth environments protect`."""
    said = cli.ok("environments", "protect", environment, "--required-approvals", str(required)).stdout
    assert f"{environment}: deployments need {required} approval" in said, said


def test_approve_reject_and_the_pending_list(queue_server: Served, queue_cli: Cli) -> None:
    queue_cli.ok("deploy", "--image", "nginx:alpine", "--name", "web", "--project", "shop", "--detach")
    protect(queue_cli, "shop/production", 1)
    agent = queue_cli.with_token(queue_server.token("agent", "agent"))
    reviewer = queue_cli.with_token(queue_server.token("operator", "reviewer"))

    started = agent.run("deploy", "--service", "web", "--detach")
    assert started.code == 0, started
    assert "shop/production/web #2: waiting for approval: 0 of 1 (berth approve " in started.stdout
    waiting = queue_cli.json("deployments", "--pending-approval")
    assert [(d["number"], d["approval"]["state"]) for d in waiting] == [(2, "PENDING")]
    table = queue_cli.ok("deployments", "--pending-approval").stdout
    assert "shop/production/web" in table and "QUEUED (approvals 0/1)" in table
    assert "#1" not in table.split("\n", 1)[1]  # the unprotected first one is not waiting

    # The agent lacks deploy:approve (an operator may not approve its own: below).
    denied = agent.run("approve", waiting[0]["id"])
    assert denied.code == 3 and "deploy:approve" in denied.assert_one_line_error()
    approved = reviewer.ok("approve", waiting[0]["id"], "--comment", "looks right").stdout
    assert f"approved shop/production/web #2 ({waiting[0]['id']}): QUEUED" in approved
    assert "approval approved (1 of 1)" in approved
    assert queue_cli.json("deployments", "--pending-approval") == []
    again = reviewer.run("approve", waiting[0]["id"])
    assert again.code == 3 and "not waiting for approval" in again.assert_one_line_error()

    self_started = reviewer.json("deploy", "--service", "web", "--detach")
    self_approval = reviewer.run("approve", self_started["id"])
    assert self_approval.code == 3 and "someone else must approve it" in self_approval.assert_one_line_error()
    missing = reviewer.run("reject", self_started["id"])
    assert missing.code == 3 and "--comment" in missing.stderr
    rejected = queue_cli.ok("reject", self_started["id"], "--comment", "not today").stdout
    assert f"rejected shop/production/web #3 ({self_started['id']}): CANCELED" in rejected
    shown = queue_cli.json("show", self_started["id"])
    assert (shown["conclusion"], shown["cancelReason"], shown["approval"]["state"]) == (
        "CANCELED", "not today", "REJECTED")


def test_dry_run_prints_the_plan_and_queues_nothing(queue_server: Served, queue_cli: Cli) -> None:
    queue_cli.ok("deploy", "--image", "nginx:alpine", "--name", "api", "--env", "MODE=a", "--secret",
                 "TOKEN=hunter2-dry", "--detach")  # fmt: skip
    before = queue_cli.json("deployments", "--service", "api")
    plan = queue_cli.ok("deploy", "--service", "api", "--tag", "1.27", "--dry-run").stdout
    assert "plan for default/production/api (dry run: nothing was queued)" in plan
    assert "  imageTag: alpine -> 1.27" in plan or "  imageTag: (none) -> 1.27" in plan
    assert "supersedes: default/production/api #1" in plan
    assert "queue ahead: 0" in plan and "needs approval: no" in plan
    assert "hunter2" not in plan
    assert queue_cli.json("deployments", "--service", "api") == before

    as_json = queue_cli.json("deploy", "--service", "api", "--dry-run", "--json")
    assert as_json["problems"] == [] and as_json["requiresApproval"] is False
    assert [d["number"] for d in as_json["wouldSupersede"]] == [1]

    protect(queue_cli, "default/production", 2)
    assert "needs approval: yes" in queue_cli.ok("deploy", "--service", "api", "--dry-run").stdout

    refused = queue_cli.run("deploy", "--service", "api", "--ref", "main", "--dry-run")
    assert refused.code == 3, refused
    assert "problems (startDeployment would refuse):" in refused.stdout
    assert "INVALID_INPUT: ref applies to DOCKERFILE services" in refused.stdout
    assert queue_cli.json("deployments", "--service", "api") == before

    creating = queue_cli.run("deploy", "--image", "nginx:alpine", "--name", "new", "--dry-run")
    assert creating.code == 3 and "--dry-run" in creating.assert_one_line_error()


def test_a_followed_deployment_shows_the_decision(queue_server: Served, queue_cli: Cli) -> None:
    queue_cli.ok("deploy", "--image", "nginx:alpine", "--name", "cart", "--detach")
    protect(queue_cli, "default/production", 1)
    reviewer = queue_cli.with_token(queue_server.token("operator", "reviewer"))
    follower = queue_cli.start("deploy", "--service", "cart")
    follower.wait_for("default/production/cart #2: waiting for approval: 0 of 1")
    waiting = queue_cli.json("deployments", "--pending-approval")
    assert [d["number"] for d in waiting] == [2]
    reviewer.ok("reject", waiting[0]["id"], "--comment", "wrong image")
    follower.wait_for("  approval decided")
    result = follower.finish()
    assert result.code == 2, result  # the deployment it followed was canceled
    assert "deployment #2 CANCELED" in result.stdout and "rejected: wrong image" in result.stdout


def test_environments_list_and_protect(queue_server: Served, queue_cli: Cli) -> None:
    queue_cli.ok("deploy", "--image", "nginx:alpine", "--name", "web", "--project", "shop", "--detach")
    listed = queue_cli.json("environments")
    assert [(e["project"], e["name"], e["requiredApprovals"]) for e in listed] == [("shop", "production", 0)]
    protect(queue_cli, "shop/production", 2)
    assert "shop/production" in (table := queue_cli.ok("environments").stdout) and " 2" in table
    by_id = queue_cli.json("environments", "protect", listed[0]["id"], "--required-approvals", "0")
    assert by_id["requiredApprovals"] == 0
    assert "need no approval" in queue_cli.ok("environments", "protect", "shop/production",
                                              "--required-approvals", "0").stdout

    too_many = queue_cli.run("environments", "protect", "shop/production", "--required-approvals", "11")
    assert too_many.code == 3 and "--required-approvals" in too_many.assert_one_line_error()
    unknown = queue_cli.run("environments", "protect", "shop/staging", "--required-approvals", "1")
    assert unknown.code == 3 and "no environment 'shop/staging'" in unknown.assert_one_line_error()
    reader = queue_cli.with_token(queue_server.token("viewer", "reader"))
    denied = reader.run("environments", "protect", "shop/production", "--required-approvals", "1")
    assert denied.code == 3 and "service:write" in denied.assert_one_line_error()
    assert queue_cli.json("environments")[0]["requiredApprovals"] == 0
