"""The environment that lets one git clone authenticate, and nothing longer-lived.

https: `GIT_ASKPASS` names a tiny script that answers git's prompts from two variables of
the git process's own environment (the token is never on a command line, in a URL git could
print, or in a file); configured credential helpers are switched off so nothing is stored.
ssh: the deploy key in a 0600 file and the pinned known_hosts, used through
`GIT_SSH_COMMAND` with StrictHostKeyChecking=yes (a host whose key is not the pinned one is
refused). Both live in a private temp dir (0700) that is removed when the clone ends.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from berth.domain.git_auth import HTTPS, GitCredentials

USERNAME_VAR = "BERTH_GIT_USERNAME"
TOKEN_VAR = "BERTH_GIT_TOKEN"
_ASKPASS = f"""#!/bin/sh
# Written by Berth for one clone: answers git's username and password prompts.
case "$1" in
  Username*) printf '%s\\n' "${USERNAME_VAR}" ;;
  *) printf '%s\\n' "${TOKEN_VAR}" ;;
esac
"""
# What git and ssh print when the host refused the credentials (or wanted some), or when its
# key is not the pinned one. Not git's "Could not read from remote repository": it follows
# every failed transport, a missing repository too.
_REFUSED = re.compile(
    r"authentication failed|could not read (?:username|password)|terminal prompts disabled"
    r"|permission denied \(publickey|host key verification failed|remote host identification has changed"
    r"|no (?:matching )?host key|invalid username or password|access denied|http basic: access denied"
    r"|the requested url returned error: 40[13]",
    re.IGNORECASE,
)


def is_auth_refusal(message: str) -> bool:
    return bool(_REFUSED.search(message))


def _write(path: Path, content: str, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)


@contextmanager
def git_auth_env(credentials: GitCredentials | None) -> Iterator[dict[str, str]]:
    """Variables for GitCli's environment while the clone runs; the files go afterwards."""
    if credentials is None:
        yield {}
        return
    directory = Path(tempfile.mkdtemp(prefix="berth-git-auth-"))  # 0700
    try:
        if credentials.kind == HTTPS:
            askpass = directory / "askpass"
            _write(askpass, _ASKPASS, 0o700)
            yield {
                "GIT_ASKPASS": str(askpass),
                USERNAME_VAR: credentials.username or "",
                TOKEN_VAR: credentials.token or "",
                # No configured helper may store (or offer) credentials for this clone.
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "credential.helper",
                "GIT_CONFIG_VALUE_0": "",
            }
        else:
            key = directory / "deploy_key"
            known_hosts = directory / "known_hosts"
            key_text = (credentials.ssh_private_key or "").strip() + "\n"
            _write(key, key_text, 0o600)
            _write(known_hosts, (credentials.ssh_known_hosts or "").strip() + "\n", 0o600)
            command = ["ssh", "-F", "/dev/null", "-i", str(key), "-o", "IdentitiesOnly=yes",
                       "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                       "-o", f"UserKnownHostsFile={known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null"]
            yield {"GIT_SSH_COMMAND": shlex.join(command)}
    finally:
        shutil.rmtree(directory, ignore_errors=True)
