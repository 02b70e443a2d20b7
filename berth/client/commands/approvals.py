"""`berth approve ID [--comment]` and `berth reject ID --comment`: decide a deployment that
waits for approval in a protected environment (deploy:approve)."""

from __future__ import annotations

import argparse

from berth.client import queries
from berth.client.approval_text import approval_line, deployment_title
from berth.client.commands.common import AddParser
from berth.client.errors import EXIT_OK
from berth.client.graphql_errors import raise_for_user_errors
from berth.client.runtime import api as make_api
from berth.client.runtime import print_json, run, say

FLAGS = {"input.deploymentId": "ID", "input.comment": "--comment"}


def register(add: AddParser) -> None:
    approve = add(
        "approve",
        help="approve a deployment waiting in a protected environment",
        description="Counts once per principal; not for a deployment you started. It runs once the "
        "environment's required approvals are in.",
    )
    approve.add_argument("id", metavar="ID", help="deployment id")
    approve.add_argument("--comment", help="a note kept with the decision")
    approve.add_argument("--json", action="store_true", help="print the deployment record as JSON")
    approve.set_defaults(handler=lambda args, settings: run(lambda: decide(args, approved=True)))
    reject = add(
        "reject",
        help="reject a deployment waiting for approval (it concludes CANCELED)",
        description="The comment says why; it is kept with the deployment as its cancel reason.",
    )
    reject.add_argument("id", metavar="ID", help="deployment id")
    reject.add_argument("--comment", required=True, help="why (required)")
    reject.add_argument("--json", action="store_true", help="print the deployment record as JSON")
    reject.set_defaults(handler=lambda args, settings: run(lambda: decide(args, approved=False)))


async def decide(args: argparse.Namespace, approved: bool) -> int:
    document, field = (queries.APPROVE, "approveDeployment") if approved else (queries.REJECT, "rejectDeployment")
    async with make_api() as api:
        data = await api.execute(document, {"input": {"deploymentId": args.id, "comment": args.comment}})
    payload = data[field]
    raise_for_user_errors(payload["errors"], FLAGS)
    record = payload["deployment"]
    if args.json:
        print_json(record)
        return EXIT_OK
    verb = "approved" if approved else "rejected"
    state = record.get("conclusion") or record["status"]
    say(f"{verb} {deployment_title(record)} ({record['id']}): {state}")
    if line := approval_line(record):
        say(line)
    return EXIT_OK
