"""`berth deploy`'s repository credential flags → the API's `GitAuthInput` (with --repo).

`--git-token-stdin` reads an https token from stdin (`--git-username`, default
x-access-token, goes with it); `--git-ssh-key FILE --git-known-hosts FILE` read a deploy key
and the host key pin from files. Secrets never come from argv: the process list shows it. As
the API's `source` does, a deployment from flags replaces the service's source, credentials
included: give the flags on every `berth deploy --repo …` of a private repository.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from berth.client.errors import UsageProblem

FLAGS = {
    "input.source.gitAuth": "--git-token-stdin/--git-ssh-key",
    "input.source.gitAuth.token": "--git-token-stdin",
    "input.source.gitAuth.username": "--git-username",
    "input.source.gitAuth.sshPrivateKey": "--git-ssh-key",
    "input.source.gitAuth.sshKnownHosts": "--git-known-hosts",
}
DEST = ("git_token_stdin", "git_username", "git_ssh_key", "git_known_hosts")


def add_flags(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--git-token-stdin", action="store_true",
                       help="read an https token (or password) for the repository from stdin")
    group.add_argument("--git-username", metavar="NAME", help="the user the token goes with (default x-access-token)")
    group.add_argument("--git-ssh-key", metavar="FILE", help="an ssh deploy key for the repository")
    group.add_argument("--git-known-hosts", metavar="FILE", help="known_hosts line(s) pinning the git host's key")


def _read(flag: str, path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise UsageProblem(f"{flag}: cannot read {path}: {reason}") from None


def git_auth_input(args: argparse.Namespace) -> dict[str, Any] | None:
    if not (args.git_token_stdin or args.git_username or args.git_ssh_key or args.git_known_hosts):
        return None
    if not args.repo:
        raise UsageProblem("--git-token-stdin, --git-ssh-key and --git-known-hosts apply with --repo only")
    if args.git_token_stdin and args.git_ssh_key:
        raise UsageProblem("give --git-token-stdin or --git-ssh-key, not both")
    if args.git_token_stdin:
        token = sys.stdin.read().rstrip("\r\n")
        if not token:
            raise UsageProblem("--git-token-stdin: stdin held no token")
        return {"token": token, "username": args.git_username}
    if not args.git_ssh_key:
        raise UsageProblem("--git-username goes with --git-token-stdin; --git-known-hosts with --git-ssh-key")
    if not args.git_known_hosts:
        raise UsageProblem("--git-ssh-key needs --git-known-hosts FILE (the git host's key, pinned)")
    return {"sshPrivateKey": _read("--git-ssh-key", args.git_ssh_key),
            "sshKnownHosts": _read("--git-known-hosts", args.git_known_hosts), "username": args.git_username}
