"""The operator and agent CLI: client subcommands of `berth` that talk only to the GraphQL API.

Server URL and token come from BERTH_URL / BERTH_TOKEN or the file `berth login`
writes. Usage errors exit 3 here (argparse's usual 2 means CANCELED for these commands).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
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


def _client_adder(commands: Any) -> Callable[..., argparse.ArgumentParser]:
    def add(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, **kwargs)
        parser.__class__ = ClientParser  # same parser, usage errors exit 3
        return parser  # type: ignore[no-any-return]

    return add


def add_client_commands(commands: Any) -> None:
    """Register the client commands on `commands` (the `add_subparsers()` action of the
    `berth` parser): deploy, logs, cancel, rollback, deployments, show, services, servers,
    tokens, service delete, login, hooks, previews, registry, audit, notifications, approve, reject, environments and mcp."""
    from berth.client.commands import (
        approvals,
        audit,
        cancel,
        deploy,
        deployments,
        environments,
        hooks,
        login,
        logs,
        mcp,
        notifications,
        previews,
        registry,
        rollback,
        servers_list,
        service_delete,
        services_list,
        show,
        tokens,
    )

    add = _client_adder(commands)
    for module in (deploy, logs, cancel, rollback, deployments, show, services_list, servers_list, tokens,
                   login, hooks, previews, registry, audit, notifications, approvals, environments, mcp):  # fmt: skip
        module.register(add)
    service = add("service", help="manage one service (delete)")
    service_commands = service.add_subparsers(dest="service_command", required=True)
    service_delete.register(_client_adder(service_commands))


def add_token_client_commands(token_commands: Any) -> None:
    """`berth token revoke`, beside the server-side `berth token create`."""
    from berth.client.commands import tokens

    tokens.register_revoke(_client_adder(token_commands))
