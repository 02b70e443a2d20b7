"""`berth cancel ID [--reason]`: cancel a deployment, then follow it until it has stopped."""

from __future__ import annotations

import argparse

from berth.client.commands.common import AddParser, add_follow_flags, after_queueing
from berth.client.errors import EXIT_OK
from berth.client.follow import cancel_deployment
from berth.client.runtime import api as make_api
from berth.client.runtime import print_json, run, say


def register(add: AddParser) -> None:
    parser = add(
        "cancel",
        help="cancel a queued or running deployment",
        description="A queued deployment is canceled at once; a running one stops within seconds. "
        "Follows it until it has concluded: exit 0 when it ended CANCELED; when the cancel came too late "
        "the exit code says how it concluded instead (1 FAILED, 4 SKIPPED).",
    )
    parser.add_argument("id", metavar="ID", help="deployment id")
    parser.add_argument("--reason", help="why (stored with the deployment)")
    add_follow_flags(parser, detach_help="return right after the cancel request")
    parser.set_defaults(handler=lambda args, settings: run(lambda: cancel(args)))


async def cancel(args: argparse.Namespace) -> int:
    async with make_api() as api:
        record = await cancel_deployment(api, args.id, args.reason)
        if args.detach:
            if args.json:
                print_json(record)
            else:
                state = record["conclusion"] or (
                    "cancel requested" if record.get("cancelRequestedAt") else record["status"]
                )
                say(f"deployment #{record['number']} ({record['id']}): {state}")
            return EXIT_OK
        return await after_queueing(api, record, args, canceling=True)
