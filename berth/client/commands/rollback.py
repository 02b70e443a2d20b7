"""`berth rollback SERVICE [--to ID]`: replay an earlier successful deployment, followed live."""

from __future__ import annotations

import argparse

from berth.client import queries
from berth.client.commands.common import AddParser, add_follow_flags, after_queueing
from berth.client.graphql_errors import raise_for_user_errors
from berth.client.runtime import api as make_api
from berth.client.runtime import run
from berth.client.services import resolve_service

FLAGS = {
    "input.serviceId": "SERVICE",
    "input.toDeploymentId": "--to",
    "input.reason": "--reason",
    "input.idempotencyKey": "--idempotency-key",
}


def register(add: AddParser) -> None:
    parser = add(
        "rollback",
        help="roll a service back to an earlier successful deployment",
        description="Create a deployment that replays the frozen input of an earlier SUCCEEDED deployment "
        "(default: the newest one before the current whose artifact differs), and follow it like deploy.",
    )
    parser.add_argument("service", metavar="SERVICE", help="service name or id")
    parser.add_argument("--to", metavar="ID", help="the deployment to return to")
    parser.add_argument("--reason", help="why (stored with the deployment)")
    parser.add_argument("--idempotency-key", metavar="KEY")
    parser.add_argument("--project", help="when several services share the name")
    parser.add_argument("--environment", help="when several services share the name")
    add_follow_flags(parser, detach_help="return right after queueing")
    parser.set_defaults(handler=lambda args, settings: run(lambda: rollback(args)))


async def rollback(args: argparse.Namespace) -> int:
    async with make_api() as api:
        service = await resolve_service(api, args.service, args.project, args.environment, flag="SERVICE")
        variables = {
            "serviceId": service.id,
            "toDeploymentId": args.to,
            "idempotencyKey": args.idempotency_key,
            "reason": args.reason,
        }
        data = await api.execute(queries.ROLLBACK, {"input": variables})
        payload = data["rollbackDeployment"]
        raise_for_user_errors(payload["errors"], FLAGS)
        return await after_queueing(api, payload["deployment"], args)
