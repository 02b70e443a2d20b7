"""The operator and agent CLI: client subcommands of `berth` that talk only to the GraphQL API.

Server URL and token come from BERTH_URL / BERTH_TOKEN or the file `berth login`
writes. Usage errors exit 3 here (argparse's usual 2 means CANCELED for these commands).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from berth.client.errors import EXIT_USAGE


class ClientParser(argparse.ArgumentParser):
    """A subcommand parser whose usage errors exit 3 with one line (and the usage)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"berth: {self.prog.removeprefix('berth ')}: {message}\n")

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        # Unknown arguments are otherwise reported by the top-level parser, with exit 2.
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


def add_client_commands(commands: Any) -> None:
    """Register deploy, logs, cancel, rollback, deployments, show and login on `commands`
    (the `add_subparsers()` action of the `berth` parser)."""
    from berth.client.commands import cancel, deploy, deployments, hooks, login, logs, rollback, show

    def add(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, **kwargs)
        parser.__class__ = ClientParser  # same parser, usage errors exit 3
        return parser  # type: ignore[no-any-return]

    for module in (deploy, logs, cancel, rollback, deployments, show, login, hooks):
        module.register(add)
