"""`berth logs ID [-f]`: a deployment's log lines; with -f live until it concludes.

-f reads the `deploymentLogBatches` subscription (lines in batches), which replays from the database and then
streams; after a disconnect (a server restart) it resumes after the last seq it
printed, so no line is lost or printed twice.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

from berth.client import queries
from berth.client.api import Api
from berth.client.commands.common import AddParser
from berth.client.errors import EXIT_OK, InputProblem
from berth.client.format import short_time
from berth.client.runtime import api as make_api
from berth.client.runtime import run
from berth.client.ws import SeqStream

PAGE = 100


def register(add: AddParser) -> None:
    parser = add("logs", help="print a deployment's logs (-f: follow until it concludes)")
    parser.add_argument("id", metavar="ID", help="deployment id")
    parser.add_argument(
        "--follow", "-f", action="store_true", help="keep printing new lines until the deployment concludes"
    )
    parser.add_argument(
        "--timestamps", "-t", action="store_true", help="prefix each line with its time and step"
    )
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per line (seq, timestamp, stream, step, text)"
    )
    parser.add_argument("--after", type=int, default=0, metavar="SEQ", help="start after this seq")
    parser.set_defaults(handler=lambda args, settings: run(lambda: logs(args)))


async def logs(args: argparse.Namespace) -> int:
    def emit(line: dict[str, Any]) -> None:
        sys.stdout.write(render(line, args) + "\n")
        sys.stdout.flush()

    async with make_api() as api:
        await check_access(api, args.id)  # a clear error before any WebSocket
        if args.follow:
            stream = SeqStream(
                api.config, queries.LOGS, queries.LOGS_SUBSCRIPTION_FIELD, {"deploymentId": args.id},
                after_seq=args.after, notice=_notice,
            )  # fmt: skip
            async for line in stream:
                emit(line)
        else:
            async for line in pages(api, args.id, args.after):
                emit(line)
    return EXIT_OK


LOGS_FIELD = "deployment.logs"


async def check_access(api: Api, deployment_id: str) -> None:
    """The deployment exists for this credential and its logs may be read (else exit 3,
    naming the missing scope): both `logs` and `logs -f` would otherwise print nothing."""
    data = await api.execute(queries.LOGS_ACCESS, {"id": deployment_id}, required=(LOGS_FIELD,))
    deployment = data.get("deployment")
    if not isinstance(deployment, dict):
        raise InputProblem(f"no deployment with id {deployment_id!r}")
    if deployment.get("logsPrunedAt"):
        # Not an error: the record is whole, only its lines aged out (docs/retention.md).
        _notice(f"the log lines of this deployment were removed by retention at {deployment['logsPrunedAt']} "
                "(BERTH_RETENTION_LOG_DAYS); its record, steps and artifact are kept")


def _notice(text: str) -> None:
    sys.stderr.write(f"berth: {text}\n")
    sys.stderr.flush()


async def pages(api: Api, deployment_id: str, after_seq: int) -> AsyncIterator[dict[str, Any]]:
    cursor: str | None = None
    while True:
        data = await api.execute(
            queries.LOGS_PAGE, {"id": deployment_id, "first": PAGE, "after": cursor}, required=(LOGS_FIELD,)
        )
        deployment = data.get("deployment")
        if not isinstance(deployment, dict):
            raise InputProblem(f"no deployment with id {deployment_id!r}")
        connection = deployment.get("logs") or {"edges": [], "pageInfo": {}}
        for edge in connection["edges"]:
            if int(edge["node"]["seq"]) > after_seq:
                yield edge["node"]
        if not connection["pageInfo"].get("hasNextPage"):
            return
        cursor = connection["pageInfo"]["endCursor"]


def render(line: dict[str, Any], args: argparse.Namespace) -> str:
    if args.json:
        return json.dumps(line)
    text = str(line.get("text", ""))
    if args.timestamps:
        return f"{short_time(line.get('timestamp'))} {str(line.get('step') or '-'):<8} {text}"
    return text
