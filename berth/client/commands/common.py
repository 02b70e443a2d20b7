"""What deploy, rollback and cancel share: the follow flags and what happens after queueing."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from berth.client.api import Api
from berth.client.errors import EXIT_INTERRUPTED, EXIT_OK
from berth.client.follow import FollowOptions, exit_code, follow
from berth.client.live import renderer_for
from berth.client.progress import Progress, headline
from berth.client.runtime import print_json, say

# `add(name, help=..., description=...)`: a subcommand parser whose usage errors exit 3.
AddParser = Callable[..., argparse.ArgumentParser]


def add_follow_flags(parser: argparse.ArgumentParser, detach_help: str) -> None:
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--detach", action="store_true", help=detach_help)
    mode.add_argument(
        "--follow", "-f", action="store_true", help="interleave the deployment's logs with its steps"
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document (the deployment record), no progress"
    )
    parser.add_argument(
        "--cancel-on-interrupt",
        action="store_true",
        help="on Ctrl-C cancel the deployment without asking (otherwise: asked at a terminal, else left running)",
    )


async def after_queueing(
    api: Api, record: dict[str, Any], args: argparse.Namespace, canceling: bool = False
) -> int:
    """--detach: report and return; otherwise follow to the conclusion and exit by it.

    `canceling` (berth cancel): ending CANCELED is what was asked for, so it exits 0; exit 2
    means "the deployment you followed was canceled" only for deploy and rollback."""
    if args.detach:
        if args.json:
            print_json(record)
        else:
            say(headline(Progress.of(record)))
            say(f"follow it with `berth logs {record['id']} -f`")
        return EXIT_OK
    options = FollowOptions(
        renderer=renderer_for(sys.stdout, quiet=args.json),
        logs=args.follow,
        cancel_on_interrupt=args.cancel_on_interrupt,
    )
    final = await follow(api, record, options)
    if final is None:
        return EXIT_INTERRUPTED
    if args.json:
        print_json(final)
    if canceling and final.get("conclusion") == "CANCELED":
        return EXIT_OK
    return exit_code(final)
